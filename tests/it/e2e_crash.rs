//! Crashes under load (issue 17): Connect, ClickHouse and Kafka each lose their main process to
//! `kill -9` during a bench of 300,000 records at 20,000/s. The engine brings each back by its
//! restart policy, and the sink (the table is its offset store) writes every record exactly once:
//! 0 lost, 0 duplicated.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use stackctl::clients::Endpoints;
use stackctl::engine::Engine;
use stackctl::settings::Settings;

use crate::e2e_fixture::{assert_sink_running, bench_json};

const RECORDS: &str = "300000";
const RATE: &str = "20000";

/// One bench with `service`'s main process killed 5 s into it.
fn crash_during_bench(
    root: &Path,
    rt: &tokio::runtime::Runtime,
    engine: &Engine,
    service: &str,
) -> serde_json::Value {
    let containers = rt
        .block_on(engine.project_containers(&crate::e2e_project::e2e_project_name()))
        .expect("containers");
    let container = containers
        .iter()
        .find(|c| c.service == service)
        .expect("the service's container");
    let (pid, restarts) = rt
        .block_on(engine.main_process(&container.id))
        .expect("inspect");
    let pid = pid.expect("the service runs");
    let bench = Command::new(assert_cmd::cargo::cargo_bin!("stackctl"))
        .args(["bench", "--records", RECORDS, "--rate", RATE])
        .args(["--idle-timeout", "30", "--wait", "300", "--format", "json"])
        .current_dir(root)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bench");
    std::thread::sleep(Duration::from_secs(5));
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success(), "kill -KILL {pid} ({service})");
    let out = bench.wait_with_output().expect("bench ends");
    let tail: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .rev()
        .take(3)
        .map(str::to_string)
        .collect();
    eprintln!("{service} killed: {}", tail.join("\n"));
    assert_eq!(out.status.code(), Some(0), "bench across a {service} crash");
    let report = bench_json(&out);
    let (now_pid, now_restarts) = rt
        .block_on(engine.main_process(&container.id))
        .expect("inspect");
    assert!(
        now_restarts > restarts && now_pid.is_some(),
        "{service} came back by its restart policy: restarts {restarts} -> {now_restarts}"
    );
    report
}

pub fn crashes(
    p: &crate::Project,
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    endpoints: &Endpoints,
    engine: &Engine,
) {
    for service in ["connect", "clickhouse", "kafka"] {
        let report = crash_during_bench(p.path(), rt, engine, service);
        eprintln!(
            "{service} kill -9 under {RECORDS} records at {RATE}/s: lost {} late {} duplicated {} (producer duplicates {}), p99 {} ms",
            report["lost"],
            report["late"],
            report["duplicated"],
            report["producer_duplicates"],
            report["latency_ms"]["p99"]
        );
        assert_eq!(report["lost"], 0, "no row lost across a {service} crash");
        assert_eq!(
            report["duplicated"], 0,
            "no row written twice across a {service} crash"
        );
        assert_sink_running(
            rt,
            endpoints,
            settings,
            &format!("the task runs after the {service} crash"),
        );
    }
    // The stack is whole again: verify passes (a broker just back may take a while to serve
    // its consumer groups), so the scenarios after this one start from a healthy stack.
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let verify = crate::e2e::run(p, &["verify", "--format", "json"]);
        if verify.status.code() == Some(0) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "verify passes within 180 s of the crashes: {}",
            String::from_utf8_lossy(&verify.stdout)
        );
        std::thread::sleep(Duration::from_secs(5));
    }
}
