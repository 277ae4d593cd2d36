//! Post-start steps, each run once its service is healthy and before its dependents start:
//! topics (kafka), schema (clickhouse), the sink connector (connect).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{UpError, UpInput};
use crate::clients::Login;
use crate::clients::clickhouse::ClickHouse;
use crate::clients::connect::Connect;
use crate::clients::kafka::{Kafka, TopicSpec};
use crate::config::{ClickHouseRole, KafkaRole, Settings};
use crate::engine::images::Progress;

/// The topics stackctl creates, and why.
#[derive(Debug, Clone, Serialize)]
pub struct TopicPlan {
    pub name: String,
    pub partitions: i32,
    pub replication: i32,
    pub compacted: bool,
    pub owner: &'static str,
}

/// The data topic at every phase; from phase 4 (no auto-creation) also the Connect internal
/// topics (compacted) and the Schema Registry's storage topics.
pub fn topic_plan(settings: &Settings, phase: u8) -> Vec<TopicPlan> {
    let rf = i32::from(settings.replication_factor);
    let t = |name: &str, partitions: i32, compacted: bool, owner: &'static str| TopicPlan {
        name: name.to_string(),
        partitions,
        replication: rf,
        compacted,
        owner,
    };
    let mut topics = vec![t(
        &settings.pipeline.topic,
        settings.pipeline.partitions as i32,
        false,
        "pipeline",
    )];
    if phase >= 4 {
        let c = &settings.connect.topics;
        topics.push(t(&c.configs, 1, true, "connect"));
        topics.push(t(&c.offsets, 5, true, "connect"));
        topics.push(t(&c.status, 5, true, "connect"));
        let s = &settings.schema_registry.topics;
        topics.push(t(&s.journal, 1, true, "schema-registry"));
        topics.push(t(&s.snapshots, 1, true, "schema-registry"));
        topics.push(t(&s.events, 1, false, "schema-registry"));
    }
    topics
}

/// A file `render` wrote for this `up`.
fn read_rendered(input: &UpInput<'_>, rel: &str) -> Result<(std::path::PathBuf, String), UpError> {
    let path = input.rendered_dir.join(rel);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| UpError::Step(format!("cannot read {}: {e}", path.display())))?;
    Ok((path, text))
}

pub async fn after_healthy(
    service: &str,
    input: &UpInput<'_>,
    progress: &dyn Progress,
) -> Result<Vec<String>, UpError> {
    match service {
        "kafka" => create_topics(input, progress).await,
        "clickhouse" => apply_schema(input, progress).await,
        "connect" => deploy_connector(input, progress).await,
        _ => Ok(Vec::new()),
    }
}

async fn create_topics(
    input: &UpInput<'_>,
    progress: &dyn Progress,
) -> Result<Vec<String>, UpError> {
    let s = input.settings;
    let login = Login::kafka(s, input.secrets, KafkaRole::Admin)
        .ok_or_else(|| UpError::Step("no secret for the Kafka admin principal".into()))?;
    let plan = topic_plan(s, input.stack.phase);
    let specs: Vec<TopicSpec> = plan
        .iter()
        .map(|t| TopicSpec {
            name: t.name.clone(),
            partitions: t.partitions,
            replication: t.replication,
            compacted: t.compacted,
        })
        .collect();
    let kafka = Kafka::new(format!("localhost:{}", s.kafka.host_port));
    let created = kafka
        .create_topics(&login, &specs)
        .await
        .map_err(|e| UpError::Step(format!("creating topics as {}: {e}", login.user)))?;
    let message = if created.is_empty() {
        format!(
            "topics present: {}",
            plan.iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!("topics created: {}", created.join(", "))
    };
    progress.line("kafka", &message);
    Ok(vec![message])
}

async fn apply_schema(
    input: &UpInput<'_>,
    progress: &dyn Progress,
) -> Result<Vec<String>, UpError> {
    let s = input.settings;
    let (_, sql) = read_rendered(input, "clickhouse/schema.sql")?;
    // Phase 1 keeps ClickHouse open (as before auth); from phase 2 the admin user applies it.
    let login = if input.stack.phase >= 2 {
        Some(
            Login::clickhouse(s, input.secrets, ClickHouseRole::Admin)
                .ok_or_else(|| UpError::Step("no secret for the ClickHouse admin".into()))?,
        )
    } else {
        None
    };
    let ch = ClickHouse::new(s.clickhouse.host_http_port, Duration::from_secs(15));
    for statement in sql
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
    {
        let statement = statement.trim().trim_end_matches(';');
        let answer = ch
            .query(login.as_ref(), statement, None)
            .await
            .map_err(|e| UpError::Step(format!("applying the ClickHouse schema: {e}")))?;
        if !answer.ok() {
            return Err(UpError::Step(format!(
                "applying the ClickHouse schema failed (HTTP {}, code {}): {}",
                answer.status,
                answer
                    .code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
                input
                    .redactor
                    .redact(answer.body.lines().next().unwrap_or(""))
            )));
        }
    }
    let message = format!(
        "schema applied as {}: {}.{}",
        login.as_ref().map(|l| l.user.as_str()).unwrap_or("default"),
        s.clickhouse.database,
        s.pipeline.table
    );
    progress.line("clickhouse", &message);
    Ok(vec![message])
}

async fn deploy_connector(
    input: &UpInput<'_>,
    progress: &dyn Progress,
) -> Result<Vec<String>, UpError> {
    let s = input.settings;
    let (path, text) = read_rendered(input, "connect/clickhouse-sink.json")?;
    let config: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| UpError::Step(format!("{} is not valid JSON: {e}", path.display())))?;
    let connect = Connect::new(s.connect.host_port, Duration::from_secs(20));
    let name = &s.connect.connector;
    let (status, body) = connect
        .put_config(name, &config)
        .await
        .map_err(|e| UpError::Step(format!("deploying connector {name}: {e}")))?;
    if !(200..300).contains(&status) {
        return Err(UpError::Step(format!(
            "Connect refused connector {name} (HTTP {status}): {}",
            input.redactor.redact(&body)
        )));
    }
    // A config that changed while a task had failed does not restart it by itself.
    let started = Instant::now();
    let bound = Duration::from_secs(90);
    let mut restarted = false;
    loop {
        let state = connect.status(name).await.ok().flatten();
        if let Some(state) = &state {
            if state.running() {
                break;
            }
            if state.tasks.iter().any(|t| t == "FAILED") && !restarted {
                let _ = connect.restart(name).await;
                restarted = true;
            } else if state.tasks.iter().any(|t| t == "FAILED") {
                return Err(UpError::Step(format!(
                    "connector {name} task FAILED: {}. See `stackctl logs connect`",
                    input
                        .redactor
                        .redact(state.trace.as_deref().unwrap_or("no trace"))
                )));
            }
        }
        if started.elapsed() > bound {
            return Err(UpError::Step(format!(
                "connector {name} was not RUNNING within {} s (last state: {:?}); see `stackctl logs connect`",
                bound.as_secs(),
                state.map(|s| (s.connector, s.tasks))
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let message = format!("connector {name} and its tasks RUNNING");
    progress.line("connect", &message);
    Ok(vec![message])
}
