//! The pipeline part of the end-to-end test (issue 12): a poison record between good ones goes to
//! the dead-letter topic with its reason while every good one arrives once; `stackctl bench` loses
//! nothing; a crashed ClickHouse comes back by itself (restart policy) and the pipeline resumes
//! with no row lost.

use std::process::Output;
use std::time::Duration;

use stackctl::clients::Endpoints;
use stackctl::clients::records::Received;
use stackctl::engine::Engine;
use stackctl::secrets::SecretSet;
use stackctl::settings::Settings;

use crate::Project;
use crate::e2e_fixture::{DlqRun, Logins, assert_sink_running, bench_json, counts, wait_rows};

#[allow(
    clippy::too_many_lines,
    reason = "one end-to-end scenario against the running stack: each step starts from the state the previous one left"
)]
pub fn pipeline(
    p: &Project,
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    secrets: &SecretSet,
    endpoints: &Endpoints,
    engine: &Engine,
    run: &dyn Fn(&[&str]) -> Output,
) {
    // A poison record between good ones.
    let DlqRun {
        logins: Logins { app, admin, reader },
        kafka,
        dlq,
        start,
        id,
    } = DlqRun::begin(rt, settings, secrets, endpoints);
    let good_run = format!("e2e-poison-{id}");
    let poison = format!("hello e2e {id}");
    let mut values: Vec<String> = (1..=5)
        .map(|i| format!("{{\"run_id\":\"{good_run}\",\"seq\":{i},\"payload\":\"before\"}}"))
        .collect();
    values.push(poison.clone());
    values.extend(
        (6..=10)
            .map(|i| format!("{{\"run_id\":\"{good_run}\",\"seq\":{i},\"payload\":\"after\"}}")),
    );
    rt.block_on(kafka.produce(
        &app,
        &settings.pipeline.topic,
        &values,
        Duration::from_secs(10),
    ))
    .expect("produce as app");
    let wanted = poison.clone();
    let dead: Vec<Received> = rt
        .block_on(kafka.read_from(
            &admin,
            &dlq,
            &start,
            move |r: &[Received]| {
                r.iter()
                    .any(|r| r.value.as_deref() == Some(wanted.as_str()))
            },
            Duration::from_secs(60),
        ))
        .expect("read the dead-letter topic");
    let letter = dead
        .iter()
        .find(|r| r.value.as_deref() == Some(poison.as_str()))
        .expect("the poison record is in the dead-letter topic");
    eprintln!("dead letter headers: {:?}", letter.headers);
    let reason = letter
        .header("__connect.errors.exception.message")
        .expect("a reason header");
    assert!(reason.contains("not a JSON object"), "{reason}");
    assert_eq!(
        letter.header("__connect.errors.topic"),
        Some(settings.pipeline.topic.as_str())
    );
    wait_rows(
        rt,
        endpoints,
        &reader,
        &good_run,
        10,
        Duration::from_secs(60),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        counts(rt, endpoints, &reader, &good_run),
        (10, 10),
        "every good record exactly once"
    );
    assert_sink_running(
        rt,
        endpoints,
        settings,
        "connector and task RUNNING after the poison",
    );
    let out = run(&["status", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert_eq!(st["pipeline"]["state"], "RUNNING", "{st}");
    assert!(
        st["pipeline"]["dead_letters"]
            .as_i64()
            .is_some_and(|n| n >= 1),
        "{st}"
    );

    // The load test: nothing lost.
    let out = run(&["bench", "--records", "20000", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "bench");
    let report = bench_json(&out);
    assert_eq!(report["records"], 20000);
    assert_eq!(report["lost"], 0);

    // A crash (SIGKILL of ClickHouse's main process from the host: the Engine API's kill counts as
    // a manual stop, which a restart policy leaves stopped) while records flow: the engine restarts
    // it, the sink retries with backoff, no row is lost.
    let containers = rt
        .block_on(engine.project_containers(&crate::e2e_project::e2e_project_name()))
        .expect("containers");
    let clickhouse = containers
        .iter()
        .find(|c| c.service == "clickhouse")
        .expect("clickhouse container");
    let (pid, restarts) = rt
        .block_on(engine.main_process(&clickhouse.id))
        .expect("inspect");
    let pid = pid.expect("clickhouse runs");
    let bench = std::process::Command::new(assert_cmd::cargo::cargo_bin!("stackctl"))
        .args([
            "bench",
            "--records",
            "20000",
            "--rate",
            "2000",
            "--idle-timeout",
            "90",
            "--format",
            "json",
        ])
        .current_dir(p.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start bench");
    std::thread::sleep(Duration::from_secs(3));
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success(), "kill -KILL {pid}");
    let out = bench.wait_with_output().expect("bench ends");
    eprintln!(
        "{}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "bench across a ClickHouse crash"
    );
    let report = bench_json(&out);
    assert_eq!(report["lost"], 0, "no row lost across the crash");
    let (now_pid, now_restarts) = rt
        .block_on(engine.main_process(&clickhouse.id))
        .expect("inspect");
    assert!(
        now_restarts > restarts && now_pid.is_some(),
        "ClickHouse came back by itself: restarts {restarts} -> {now_restarts}, pid {now_pid:?}"
    );
    assert_sink_running(rt, endpoints, settings, "the task did not stay FAILED");
}
