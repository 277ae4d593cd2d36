//! What `status` says about the pipeline: the sink connector's and its tasks' states, and how many
//! records its dead-letter topic holds.

use std::time::Duration;

use serde::Serialize;

use crate::clients::{Endpoints, Login};
use crate::secrets::SecretSet;
use crate::settings::{KafkaRole, Settings};

/// The pipeline as the running stack reports it; each part says why when it could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineStatus {
    pub connector_name: String,
    /// RUNNING, FAILED, PAUSED, …; or why it is unknown.
    pub connector: Result<String, String>,
    pub tasks: Vec<String>,
    /// The first line of a failed task's trace.
    pub trace: Option<String>,
    pub dead_letter_topic: String,
    /// Records in the dead-letter topic (the sum of its partitions' end offsets).
    pub dead_letters: Result<i64, String>,
}

/// Asks Connect (as stackctl's REST login) and Kafka (as admin), each bounded.
pub async fn pipeline_status(
    settings: &Settings,
    secrets: &SecretSet,
    endpoints: &Endpoints,
) -> PipelineStatus {
    let name = settings.connect.connector.clone();
    let dlq = settings.pipeline.dead_letter_topic.clone();
    let connect = endpoints.connect(Duration::from_secs(3));
    let count = async {
        let admin = Login::kafka(settings, secrets, KafkaRole::Admin)
            .ok_or_else(|| "no secret for the Kafka admin".to_string())?;
        tokio::time::timeout(
            Duration::from_secs(8),
            endpoints.kafka().end_offsets(&admin, &dlq),
        )
        .await
        .map_err(|_| "Kafka did not answer within 8 s".to_string())?
    };
    let (state, dead_letters) = tokio::join!(connect.status(&name), count);
    let (connector, tasks, trace) = match state {
        Ok(Some(s)) => (Ok(s.connector), s.tasks, s.trace),
        Ok(None) => (
            Err("not deployed (`stackctl up` deploys it)".to_string()),
            Vec::new(),
            None,
        ),
        Err(e) => (Err(format!("Connect REST: {e}")), Vec::new(), None),
    };
    PipelineStatus {
        connector_name: name,
        connector,
        tasks,
        trace,
        dead_letter_topic: dlq,
        dead_letters,
    }
}
