//! What the scenarios of the end-to-end test share: the pipeline ones (e2e_pipeline, e2e_stress,
//! e2e_crash) their logins, the dead-letter topic's offsets, row counts of a run, the connector's
//! state and the bench report; the verify ones (e2e_truth, posture) a check's reason.

use std::process::Output;
use std::time::{Duration, Instant};

use stackctl::clients::kafka::Kafka;
use stackctl::clients::{Endpoints, Login};
use stackctl::secrets::SecretSet;
use stackctl::settings::{ClickHouseRole, KafkaRole, Settings};

/// The logins a scenario produces (app), reads the dead-letter topic (Kafka admin) and counts
/// rows (ClickHouse readonly) with.
pub struct Logins {
    pub app: Login,
    pub admin: Login,
    pub reader: Login,
}

impl Logins {
    pub fn new(settings: &Settings, secrets: &SecretSet) -> Logins {
        Logins {
            app: Login::kafka(settings, secrets, KafkaRole::App).expect("app"),
            admin: Login::kafka(settings, secrets, KafkaRole::Admin).expect("admin"),
            reader: Login::clickhouse(settings, secrets, ClickHouseRole::Readonly)
                .expect("readonly"),
        }
    }
}

/// The start of a scenario that produces records and reads what reaches the dead-letter topic.
pub struct DlqRun {
    pub logins: Logins,
    pub kafka: Kafka,
    /// The dead-letter topic.
    pub dlq: String,
    /// The high watermark of each partition of `dlq` now: where the letters of what the scenario
    /// produces next begin.
    pub start: Vec<(i32, i64)>,
    /// A fresh run id.
    pub id: String,
}

impl DlqRun {
    pub fn begin(
        rt: &tokio::runtime::Runtime,
        settings: &Settings,
        secrets: &SecretSet,
        endpoints: &Endpoints,
    ) -> DlqRun {
        let logins = Logins::new(settings, secrets);
        let kafka = endpoints.kafka();
        let dlq = settings.pipeline.dead_letter_topic.clone();
        let start = rt
            .block_on(kafka.watermarks(&logins.admin, &dlq))
            .expect("dead-letter topic exists");
        DlqRun {
            logins,
            kafka,
            dlq,
            start,
            id: stackctl::verify::new_run_id(),
        }
    }
}

/// The sum of the dead-letter topic's end offsets: how many letters it ever received.
pub fn dlq_end(rt: &tokio::runtime::Runtime, kafka: &Kafka, admin: &Login, dlq: &str) -> i64 {
    rt.block_on(kafka.end_offsets(admin, dlq))
        .expect("dlq offsets")
}

/// The answer to `sql` as `login`, which must succeed.
pub fn query(
    rt: &tokio::runtime::Runtime,
    endpoints: &Endpoints,
    login: &Login,
    sql: &str,
) -> String {
    let answer = rt
        .block_on(
            endpoints
                .clickhouse(Duration::from_secs(30))
                .query(Some(login), sql, None),
        )
        .expect("ClickHouse query");
    assert!(answer.ok(), "{sql}: {}", answer.body);
    answer.body
}

/// count() and uniqExact(seq) of a run.
pub fn counts(
    rt: &tokio::runtime::Runtime,
    endpoints: &Endpoints,
    reader: &Login,
    run: &str,
) -> (u64, u64) {
    let body = query(
        rt,
        endpoints,
        reader,
        &format!(
            "SELECT count(), uniqExact(seq) FROM demo.events WHERE run_id = '{run}' FORMAT TSV"
        ),
    );
    let f: Vec<u64> = body
        .split_whitespace()
        .map(|n| n.parse().expect("number"))
        .collect();
    (f[0], f[1])
}

/// Waits (polling, at most `bound`) until the table holds `n` rows of a run; returns how long.
pub fn wait_rows(
    rt: &tokio::runtime::Runtime,
    endpoints: &Endpoints,
    reader: &Login,
    run: &str,
    n: u64,
    bound: Duration,
) -> Duration {
    let t0 = Instant::now();
    while counts(rt, endpoints, reader, run).0 < n && t0.elapsed() < bound {
        std::thread::sleep(Duration::from_millis(250));
    }
    t0.elapsed()
}

/// Asserts that the sink connector and all its tasks are RUNNING; `what` says when.
pub fn assert_sink_running(
    rt: &tokio::runtime::Runtime,
    endpoints: &Endpoints,
    settings: &Settings,
    what: &str,
) {
    let status = rt
        .block_on(
            endpoints
                .connect(Duration::from_secs(10))
                .status(&settings.connect.connector),
        )
        .expect("connector status")
        .expect("connector deployed");
    assert!(status.running(), "{what}: {status:?}");
}

/// The JSON report of `stackctl bench --format json` (printed, for the log).
pub fn bench_json(out: &Output) -> serde_json::Value {
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout).expect("bench JSON")
}

/// The reason of check `id` in a `verify --format json` report ("" if the check is not there).
pub fn check_reason<'a>(report: &'a serde_json::Value, id: &str) -> &'a str {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["reason"].as_str())
        .unwrap_or("")
}
