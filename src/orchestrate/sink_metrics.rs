//! The sink tasks' own counters for `stackctl status`: Connect's plugin metrics (KIP-877), which
//! the worker publishes through its JMX reporter. Kafka Connect has no REST endpoint for metrics
//! and stackctl opens no JMX port, so status runs the plugin's probe inside the Connect container
//! (`MetricsProbe`, images/connect): it attaches to the worker JVM with the JDK's attach API and
//! prints each metric as `<connector>.<task>.<name>=<value>`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::engine::Engine;

/// Where the plugin jar lives in the Connect image (images/connect/Dockerfile).
pub const PROBE: [&str; 5] = [
    "java",
    "-cp",
    "/opt/connect-plugins/clickhouse-sink/stackctl-clickhouse-sink.jar",
    "io.stackctl.connect.clickhouse.MetricsProbe",
    "1",
];

/// One sink task's metrics, by name (`rows-written-total`, `records-dead-lettered-total`,
/// `retries-total`, `retrying`, `rows-skipped-total`, `batch-latency-avg-ms`, `batch-latency-max-ms`).
#[derive(Debug, Clone, Serialize)]
pub struct TaskMetrics {
    pub task: String,
    pub metrics: BTreeMap<String, f64>,
}

/// The metrics of `connector`'s tasks, read within `bound`.
pub async fn sink_metrics(
    engine: &Engine,
    container_id: &str,
    connector: &str,
    bound: Duration,
) -> Result<Vec<TaskMetrics>, String> {
    let (code, out) = tokio::time::timeout(bound, engine.exec(container_id, &PROBE))
        .await
        .map_err(|_| {
            format!(
                "the metrics probe gave no answer within {} s",
                bound.as_secs()
            )
        })?
        .map_err(|e| e.to_string())?;
    if code != 0 {
        let first = out
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(format!("the metrics probe failed (exit {code}): {first}"));
    }
    Ok(parse(&out, connector))
}

/// `<connector>.<task>.<name>=<number>` lines of `connector`; anything else is ignored.
fn parse(out: &str, connector: &str) -> Vec<TaskMetrics> {
    let mut tasks: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let prefix = format!("{connector}.");
    for line in out.lines() {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        let Some((task, name)) = key.strip_prefix(&prefix).and_then(|k| k.split_once('.')) else {
            continue;
        };
        if let Ok(v) = value.parse::<f64>() {
            tasks
                .entry(task.to_string())
                .or_default()
                .insert(name.to_string(), v);
        }
    }
    tasks
        .into_iter()
        .map(|(task, metrics)| TaskMetrics { task, metrics })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(
        clippy::float_cmp,
        reason = "1200.0 is parsed from the text exactly; the test checks the parser, not arithmetic"
    )]
    fn parses_the_probe_lines_of_one_connector() {
        let out = "clickhouse-sink.0.rows-written-total=1200.0\nclickhouse-sink.0.retrying=0.0\n\
                   other.0.rows-written-total=5.0\nnoise\nclickhouse-sink.1.batch-latency-avg-ms=NaN\n";
        let t = super::parse(out, "clickhouse-sink");
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].task, "0");
        assert_eq!(t[0].metrics["rows-written-total"], 1200.0);
        assert_eq!(t[0].metrics.len(), 2);
        assert!(t[1].metrics["batch-latency-avg-ms"].is_nan());
    }
}
