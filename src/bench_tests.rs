//! Unit tests of `bench` (a file of their own keeps bench.rs under 500 lines).

use super::*;

#[test]
fn records_have_the_asked_size_and_carry_their_produce_time() {
    let r = record("bench-abc", 42, 1_733_000_000_123, 120);
    assert_eq!(r.len(), 120);
    let v: serde_json::Value = serde_json::from_str(&r).expect("JSON");
    assert_eq!(v["seq"], 42);
    assert!(
        v["payload"]
            .as_str()
            .is_some_and(|p| p.starts_with("1733000000123 "))
    );
    // Too small a size still gives a valid record.
    assert!(serde_json::from_str::<serde_json::Value>(&record("r", 1, 2, 1)).is_ok());
}
