//! Post-start steps, each run once its service is healthy and before its dependents start:
//! topics (kafka), schema (clickhouse), the sink connector (connect).

use std::time::Duration;

use serde::Serialize;

use super::{UpError, UpInput};
use crate::clients::Login;
use crate::clients::connect::{Expect, RUNNING_BOUND, SETTLE_AFTER_CHANGE};
use crate::clients::kafka::TopicSpec;
use crate::progress::Progress;
use crate::render::FileId;
use crate::settings::{ClickHouseRole, KafkaRole, Phase, ServiceKind, Settings};

/// The topics stackctl creates, and why.
#[derive(Debug, Clone, Serialize)]
pub struct TopicPlan {
    pub name: String,
    pub partitions: i32,
    pub replication: i32,
    pub min_insync_replicas: u16,
    pub compacted: bool,
    pub owner: &'static str,
}

/// The data topic and the sink's dead-letter topic at every phase; once topics are explicit (no
/// auto-creation) also the Connect internal topics (compacted) and the Schema Registry's storage
/// topics.
pub fn topic_plan(settings: &Settings, phase: Phase) -> Vec<TopicPlan> {
    let rf = i32::from(settings.replication_factor);
    let t = |name: &str, partitions: i32, compacted: bool, owner: &'static str| TopicPlan {
        name: name.to_string(),
        partitions,
        replication: rf,
        min_insync_replicas: settings.min_insync_replicas,
        compacted,
        owner,
    };
    let mut topics = vec![t(
        &settings.pipeline.topic,
        // Validated to fit Kafka's int32 (settings::validate).
        settings.pipeline.partitions.cast_signed(),
        false,
        "pipeline",
    )];
    // Dead letters are rare and read in order: one partition.
    topics.push(t(
        &settings.pipeline.dead_letter_topic,
        1,
        false,
        "pipeline",
    ));
    if phase.explicit_topics() {
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

/// The post-start steps of `service` (none for services stackctl does not provision).
pub async fn after_healthy(
    service: &crate::compose::Service,
    input: &UpInput<'_>,
    progress: &dyn Progress,
) -> Result<Vec<String>, UpError> {
    let kind = match service.node {
        Some(_) => Some(ServiceKind::Kafka),
        None => ServiceKind::from_name(&service.name),
    };
    match kind {
        Some(ServiceKind::Kafka) => {
            let mut steps = create_topics(input, progress).await?;
            if input.plan.phase.enforces_authorization() {
                steps.extend(sync_acls(input, progress).await?);
            }
            Ok(steps)
        }
        Some(ServiceKind::ClickHouse) => apply_schema(input, progress).await,
        Some(ServiceKind::Connect) => deploy_connector(input, progress).await,
        Some(ServiceKind::SchemaRegistry) => registry_answers(input, progress).await,
        None => Ok(Vec::new()),
    }
}

/// The registry's health endpoint answers before its API has served a request: the first one
/// (login, REST, storage) takes seconds of a cold JVM on a busy machine. `up` asks it once, with
/// the login clients use, so the stack it reports is one whose registry API answers.
async fn registry_answers(
    input: &UpInput<'_>,
    progress: &dyn Progress,
) -> Result<Vec<String>, UpError> {
    let started = std::time::Instant::now();
    let registry = input.endpoints.schema_registry(Duration::from_secs(60));
    let subjects = registry.subjects().await.map_err(|e| {
        UpError::Service {
            service: ServiceKind::SchemaRegistry.name().into(),
            message: format!(
                "healthy, but its API did not answer GET /subjects: {e}; see `docker logs` of the schema-registry container"
            ),
        }
    })?;
    let step = format!(
        "registry API answered ({} subject(s)) in {:.1} s",
        subjects.len(),
        started.elapsed().as_secs_f64()
    );
    progress.line(ServiceKind::SchemaRegistry.name(), &step);
    Ok(vec![step])
}

async fn create_topics(
    input: &UpInput<'_>,
    progress: &dyn Progress,
) -> Result<Vec<String>, UpError> {
    let s = input.settings;
    let login = Login::kafka(s, input.secrets, KafkaRole::Admin)
        .ok_or_else(|| UpError::Step("no secret for the Kafka admin principal".into()))?;
    let plan = topic_plan(s, input.plan.phase);
    let specs: Vec<TopicSpec> = plan
        .iter()
        .map(|t| TopicSpec {
            name: t.name.clone(),
            partitions: t.partitions,
            replication: t.replication,
            min_insync_replicas: t.min_insync_replicas,
            compacted: t.compacted,
        })
        .collect();
    let created = input
        .endpoints
        .kafka()
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
    let sql = input.plan.contents(FileId::ClickHouseSchema)?;
    // Without ClickHouse auth the server is open; with it the admin user applies the schema.
    let login = if input.plan.phase.enforces_clickhouse_auth() {
        Some(
            Login::clickhouse(s, input.secrets, ClickHouseRole::Admin)
                .ok_or_else(|| UpError::Step("no secret for the ClickHouse admin".into()))?,
        )
    } else {
        None
    };
    let ch = input.endpoints.clickhouse(Duration::from_secs(15));
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
                answer.code.map_or_else(|| "-".into(), |c| c.to_string()),
                input
                    .redactor
                    .redact(answer.body.lines().next().unwrap_or(""))
            )));
        }
    }
    let message = format!(
        "schema applied as {}: {}.{}",
        login.as_ref().map_or("default", |l| l.user.as_str()),
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
    let text = input.plan.contents(FileId::SinkConnector)?;
    let config: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        UpError::Step(format!(
            "the rendered {} is not valid JSON ({e}); check its template",
            FileId::SinkConnector.spec().path
        ))
    })?;
    let connect = input.endpoints.connect(Duration::from_secs(20));
    let name = &s.connect.connector;
    // A connector that runs with this very config is not touched by the PUT (its tasks keep
    // running); anything else must prove it stays RUNNING, not just reach it.
    let settled_already = matches!(connect.status(name).await, Ok(Some(st)) if st.running())
        && matches!(connect.config(name).await, Ok((200, current)) if same_config(&current, &config));
    let settle = if settled_already {
        Duration::ZERO
    } else {
        SETTLE_AFTER_CHANGE
    };
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
    connect
        .wait_running(name, RUNNING_BOUND, Expect::JustDeployed, settle)
        .await
        .map_err(|e| UpError::Step(input.redactor.redact(&e.to_string())))?;
    let message = if settled_already {
        format!("connector {name} and its tasks RUNNING (unchanged)")
    } else {
        format!(
            "connector {name} and its tasks RUNNING (and still after {} s)",
            settle.as_secs()
        )
    };
    progress.line("connect", &message);
    Ok(vec![message])
}

/// Whether the config Connect holds (`GET /connectors/<n>/config`, which adds `name`) is the
/// rendered one.
fn same_config(current: &str, rendered: &serde_json::Value) -> bool {
    let Ok(serde_json::Value::Object(mut current)) = serde_json::from_str(current) else {
        return false;
    };
    current.remove("name");
    rendered.as_object() == Some(&current)
}

/// Makes the broker hold exactly the declared ACLs, before any other principal needs them.
async fn sync_acls(input: &UpInput<'_>, progress: &dyn Progress) -> Result<Vec<String>, UpError> {
    let s = input.settings;
    let login = Login::kafka(s, input.secrets, KafkaRole::Admin)
        .ok_or_else(|| UpError::Step("no secret for the Kafka admin principal".into()))?;
    let declared = s.declared_acls();
    let sync = input
        .endpoints
        .kafka()
        .sync_acls(&login, &declared)
        .await
        .map_err(|e| UpError::Step(format!("applying the ACLs of configs/stack.yaml: {e}")))?;
    let mut steps = vec![format!(
        "ACLs: {} declared, {} created, {} kept, {} undeclared removed",
        declared.len(),
        sync.created.len(),
        sync.kept,
        sync.removed.len() + sync.removed_unmodelled.len()
    )];
    steps.extend(
        sync.removed
            .iter()
            .map(|b| format!("removed undeclared ACL (drift): {b}")),
    );
    steps.extend(
        sync.removed_unmodelled
            .iter()
            .map(|b| format!("removed undeclared ACL of a kind stackctl does not model: {b}")),
    );
    for step in &steps {
        progress.line("kafka", step);
    }
    Ok(steps)
}
