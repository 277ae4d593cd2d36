//! The pipeline under stress (issue 17): a storm of 10,000 bad records of mixed kinds followed by
//! 100 good ones never stops the task (each bad record in the dead-letter topic exactly once, the
//! good rows within 60 s, Connect's log grows < 10 MB, verify passes right after); a column dropped
//! under load fails the task with the reason (schema.drift.action=fail, visible in status) and,
//! once the column is back and the task restarted, nothing is lost or duplicated.

use std::collections::BTreeSet;
use std::process::Output;
use std::time::{Duration, Instant};

use stackctl::clients::records::Received;
use stackctl::clients::{Endpoints, Login};
use stackctl::secrets::SecretSet;
use stackctl::settings::{ClickHouseRole, Settings};

use crate::e2e_fixture::{DlqRun, Logins, assert_sink_running, counts, dlq_end, query, wait_rows};

const STORM: usize = 10_000;

fn connect_log_bytes(run: &dyn Fn(&[&str]) -> Output) -> usize {
    let out = run(&["logs", "connect"]);
    assert!(out.status.success(), "stackctl logs connect");
    out.stdout.len() + out.stderr.len()
}

fn good(run: &str, from: u32, n: u32) -> Vec<String> {
    (from..from + n)
        .map(|i| format!("{{\"run_id\":\"{run}\",\"seq\":{i},\"payload\":\"p\"}}"))
        .collect()
}

pub fn stress(
    p: &crate::Project,
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    secrets: &SecretSet,
    endpoints: &Endpoints,
) {
    let run = |args: &[&str]| crate::e2e::run(p, args);
    storm(rt, settings, secrets, endpoints, &run);
    drift(rt, settings, secrets, endpoints, &run);
}

#[allow(
    clippy::too_many_lines,
    reason = "one end-to-end scenario against the running stack: produce the storm, then check each consequence in turn"
)]
fn storm(
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    secrets: &SecretSet,
    endpoints: &Endpoints,
    run: &dyn Fn(&[&str]) -> Output,
) {
    let DlqRun {
        logins: Logins { app, admin, reader },
        kafka,
        dlq,
        start,
        id,
    } = DlqRun::begin(rt, settings, secrets, endpoints);
    let run_id = format!("e2e-storm-{id}");
    // Four kinds, each value unique: not JSON, JSON that is no object, a wrong type, an unknown column.
    let bad: Vec<String> = (0..STORM)
        .map(|i| match i % 4 {
            0 => format!("storm {id} {i} is not JSON"),
            1 => format!("[\"storm\",\"{id}\",{i}]"),
            2 => format!("{{\"run_id\":\"{run_id}\",\"seq\":\"wrong {i}\",\"payload\":\"p\"}}"),
            _ => format!("{{\"run_id\":\"{run_id}\",\"seq\":{i},\"payload\":\"p\",\"nope\":1}}"),
        })
        .collect();
    let log_before = connect_log_bytes(run);
    rt.block_on(kafka.produce(
        &app,
        &settings.pipeline.topic,
        &bad,
        Duration::from_secs(60),
    ))
    .expect("produce the storm");
    rt.block_on(kafka.produce(
        &app,
        &settings.pipeline.topic,
        &good(&run_id, 1_000_000, 100),
        Duration::from_secs(10),
    ))
    .expect("produce the good ones");
    let took = wait_rows(
        rt,
        endpoints,
        &reader,
        &run_id,
        100,
        Duration::from_secs(60),
    );
    assert_eq!(
        counts(rt, endpoints, &reader, &run_id),
        (100, 100),
        "the 100 good rows, once, within 60 s"
    );
    eprintln!("storm: the 100 good rows arrived {took:?} after the storm was produced");

    // Exactly STORM new dead letters (the topic's end offsets), then each storm value among them.
    let before: i64 = start.iter().map(|(_, o)| o).sum();
    let storm = i64::try_from(STORM).expect("STORM fits an offset");
    let dead_added = || dlq_end(rt, &kafka, &admin, &dlq) - before;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && dead_added() < storm {
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(2));
    let added = dead_added();
    assert_eq!(added, storm, "exactly one dead letter per bad record");
    let wanted: BTreeSet<String> = bad.iter().cloned().collect();
    let dead: Vec<Received> = rt
        .block_on(kafka.read_from(
            &admin,
            &dlq,
            &start,
            |r: &[Received]| r.len() >= STORM,
            Duration::from_secs(120),
        ))
        .expect("read the dead-letter topic");
    let storm_letters: Vec<&str> = dead
        .iter()
        .filter_map(|r| r.value.as_deref())
        .filter(|v| wanted.contains(*v))
        .collect();
    assert_eq!(
        storm_letters.len(),
        STORM,
        "every bad record in the dead-letter topic"
    );
    assert_eq!(
        storm_letters.iter().collect::<BTreeSet<_>>().len(),
        STORM,
        "each exactly once"
    );

    assert_sink_running(rt, endpoints, settings, "task RUNNING through the storm");
    let growth = connect_log_bytes(run).saturating_sub(log_before);
    eprintln!("storm: Connect's log grew {growth} bytes");
    assert!(
        growth < 10 * 1024 * 1024,
        "Connect's log grew {growth} bytes"
    );
    let verify = run(&["verify", "--format", "json"]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "verify right after the storm: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[allow(
    clippy::too_many_lines,
    reason = "one end-to-end scenario against the running stack: break the table, see the sink stop, repair, see it resume"
)]
fn drift(
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    secrets: &SecretSet,
    endpoints: &Endpoints,
    run: &dyn Fn(&[&str]) -> Output,
) {
    let Logins { app, reader, .. } = Logins::new(settings, secrets);
    let ch_admin = Login::clickhouse(settings, secrets, ClickHouseRole::Admin).expect("admin");
    let kafka = endpoints.kafka();
    let connect = endpoints.connect(Duration::from_secs(10));
    let name = &settings.connect.connector;
    let run_id = format!("e2e-drift-{}", stackctl::verify::new_run_id());
    let table = format!(
        "{}.{}",
        settings.clickhouse.database, settings.pipeline.table
    );
    rt.block_on(kafka.produce(
        &app,
        &settings.pipeline.topic,
        &good(&run_id, 0, 1000),
        Duration::from_secs(10),
    ))
    .expect("produce");
    wait_rows(
        rt,
        endpoints,
        &reader,
        &run_id,
        1000,
        Duration::from_secs(60),
    );
    query(
        rt,
        endpoints,
        &ch_admin,
        &format!("ALTER TABLE {table} DROP COLUMN payload"),
    );
    rt.block_on(kafka.produce(
        &app,
        &settings.pipeline.topic,
        &good(&run_id, 1000, 1000),
        Duration::from_secs(10),
    ))
    .expect("produce under drift");
    let deadline = Instant::now() + Duration::from_secs(60);
    let failed = loop {
        let s = rt
            .block_on(connect.status(name))
            .expect("status")
            .expect("deployed");
        if s.stopped() || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        failed.stopped(),
        "schema.drift.action=fail fails the task: {failed:?}"
    );
    let out = run(&["status", "--format", "json"]);
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        shown.contains("schema drift"),
        "status names the reason: {shown}"
    );
    query(
        rt,
        endpoints,
        &ch_admin,
        &format!("ALTER TABLE {table} ADD COLUMN payload String"),
    );
    assert!(rt.block_on(connect.restart(name)).expect("restart") < 300);
    let took = wait_rows(
        rt,
        endpoints,
        &reader,
        &run_id,
        2000,
        Duration::from_secs(90),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        counts(rt, endpoints, &reader, &run_id),
        (2000, 2000),
        "nothing lost, nothing twice after the column is back"
    );
    eprintln!("drift: resumed, all 2000 rows {took:?} after the restart");
}
