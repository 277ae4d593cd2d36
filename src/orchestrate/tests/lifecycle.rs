//! `stop` and `start` of existing containers, against the fake engine.

use super::*;

#[test]
fn stop_goes_dependents_first_and_start_in_dependency_order() {
    let (_, stack) = two_services();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let fake = Fake {
        existing: vec![existing("broker", "h"), existing("client", "h")],
        ..Fake::default()
    };
    rt.block_on(stop(&fake, &stack, &[], &Silent))
        .expect("stop");
    assert_eq!(fake.ops(), ["stop client", "stop broker"]);
    let stopped = |s: &str| ProjectContainer {
        state: "exited".into(),
        ..existing(s, "h")
    };
    let fake = Fake {
        existing: vec![stopped("broker"), stopped("client")],
        ..Fake::default()
    };
    let report = rt
        .block_on(start(
            &fake,
            &stack,
            &[],
            &Redactor::default(),
            None,
            &Silent,
        ))
        .expect("start");
    assert_eq!(fake.ops(), ["start broker", "start client"]);
    assert!(
        report
            .services
            .iter()
            .all(|s| s.health.as_deref() == Some("healthy"))
    );
    // A named service only; one without a container is named.
    let fake = Fake::default();
    let err = rt
        .block_on(start(
            &fake,
            &stack,
            &["broker".into()],
            &Redactor::default(),
            None,
            &Silent,
        ))
        .expect_err("no container");
    assert!(err.to_string().contains("stackctl up"), "{err}");
}
