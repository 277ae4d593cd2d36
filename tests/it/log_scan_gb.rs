//! `hygiene.container-logs` on a gigabyte (issue 17): a real container writes 1 GiB of log lines
//! with one secret-like value near the end, and the streamed multi-pattern scan must find it within
//! the check's 20 s bound. Heavy (2 GB of json-file log on disk), so it runs on request:
//! `cargo test --release --test it log_scan_gb -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use stackctl::engine::Engine;

#[test]
#[ignore = "writes 2 GB of container log; run on request: cargo test --test it log_scan_gb -- --ignored"]
fn a_gigabyte_of_container_log_is_scanned_within_the_bound() {
    // Asked for by name (`--ignored`/`--include-ignored`): it runs or fails, never passes unrun.
    // scripts/test.sh skips it by name (`--skip log_scan_gb`); it stays listed as ignored.
    let name = format!("stackctl-logscan-{}", std::process::id());
    let script = "yes '2026-12-02T06:00:00Z INFO [worker] a log line of ordinary length, nothing secret in it at all' \
                  | head -c 1073741824; echo 'leak: s3cret-value-for-the-log-scan-test'";
    let started = std::process::Command::new("docker")
        .args(["run", "-d", "--name", &name, "--network", "none"])
        .args(["--log-driver", "json-file", "--log-opt", "max-size=4g"])
        .args(["debian:bookworm-slim", "sh", "-c", script])
        .output()
        .expect("docker run");
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let result = rt.block_on(async {
        let engine = Engine::connect().await.expect("engine");
        // Wait until the writer is done (the container exits).
        let wait = std::process::Command::new("docker")
            .args(["wait", &name])
            .output()
            .expect("docker wait");
        assert!(wait.status.success());
        let patterns = vec![
            b"s3cret-value-for-the-log-scan-test".to_vec(),
            b"another-value-that-is-not-there".to_vec(),
        ];
        let t0 = Instant::now();
        let found = stackctl::verify::log_scan::scan_container(&engine, &name, &patterns).await;
        (found, t0.elapsed())
    });
    let _ = std::process::Command::new("docker")
        .args(["rm", "-f", &name])
        .output();
    let (found, took) = result;
    eprintln!("1 GiB of container log scanned in {took:?}");
    assert_eq!(found, Ok(vec![0]), "exactly the leaked value");
    assert!(
        took < Duration::from_secs(20),
        "within hygiene.container-logs' 20 s bound: {took:?}"
    );
}
