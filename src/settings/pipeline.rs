//! The pipeline's settings: the data topic and table, the dead-letter topic, and how the sink
//! batches.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    pub topic: String,
    pub table: String,
    pub partitions: u32,
    /// Records the sink cannot write (ClickHouse rejects them, or they are no JSON object) go
    /// here, with headers saying why; created explicitly by `up`.
    pub dead_letter_topic: String,
    /// How the sink batches (defaults when absent).
    #[serde(default)]
    pub sink: Sink,
}

/// The sink's batching and its consumer, rendered into the connector config and the worker's
/// `consumer.` settings (connectors may not override their clients' settings from phase 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sink {
    /// Sink tasks (Connect's `tasks.max`); more than the topic's partitions would idle.
    pub tasks: u32,
    /// Rows per INSERT at most.
    pub batch_size: u32,
    /// How long a partial batch waits for more records before it is sent.
    pub linger_ms: u32,
    /// Records one consumer poll hands the task at most (`consumer.max.poll.records`).
    pub max_poll_records: u32,
    /// The broker answers a fetch once it has this many bytes (`consumer.fetch.min.bytes`)…
    pub fetch_min_bytes: u32,
    /// …or this much time passed (`consumer.fetch.max.wait.ms`).
    pub fetch_max_wait_ms: u32,
    /// How often offsets are committed to Kafka (`offset.flush.interval.ms`). Only saves
    /// re-reading after a crash: the table is the sink's offset store, so nothing is written twice.
    pub commit_interval_ms: u32,
    /// When ClickHouse rejects rows because the table lost columns since the task started.
    pub on_schema_drift: DriftAction,
}

/// What the sink does on schema drift (the connector's `schema.drift.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftAction {
    /// The task fails with the reason; nothing is committed, nothing lost. Restart it once the
    /// table is fixed (`stackctl up`).
    Fail,
    /// The batch goes to the dead-letter topic with the reason; the pipeline goes on.
    DeadLetter,
}

impl DriftAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftAction::Fail => "fail",
            DriftAction::DeadLetter => "dead-letter",
        }
    }
}

impl Default for Sink {
    fn default() -> Sink {
        Sink {
            tasks: 1,
            batch_size: 20_000,
            linger_ms: 200,
            max_poll_records: 5_000,
            fetch_min_bytes: 1,
            fetch_max_wait_ms: 100,
            commit_interval_ms: 1_000,
            on_schema_drift: DriftAction::Fail,
        }
    }
}
