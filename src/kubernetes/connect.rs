//! Strimzi `KafkaConnect` (stackctl's Connect image with the sink, connectors as resources) and
//! the sink's `KafkaConnector`. The sink's ClickHouse login is a Secret mounted into the worker
//! and read by Kafka's `DirectoryConfigProvider`: the connector holds `${directory:…}`
//! references, never a value.

use serde_json::{Value, json};

use super::strimzi::API;
use super::{Ctx, KubeError, Manifest};
use crate::settings::{KafkaRole, ServiceKind};

/// Where the writer's Secret is mounted in the Connect pods (one file per key).
pub const WRITER_MOUNT: &str = "/mnt/stackctl/clickhouse-writer";
/// The Secret mounted there and its keys.
pub const WRITER_KEYS: [&str; 2] = ["user", "password"];

pub(super) fn writer_secret(ctx: &Ctx) -> String {
    format!("{}-connect-clickhouse-writer", ctx.names.project)
}

pub(super) fn manifests(ctx: &Ctx) -> Result<Vec<Manifest>, KubeError> {
    Ok(vec![
        Manifest::new("connect/kafka-connect.yaml", kafka_connect(ctx)?),
        Manifest::new("connect/connector.yaml", connector(ctx)),
    ])
}

fn kafka_connect(ctx: &Ctx) -> Result<Value, KubeError> {
    let s = ctx.settings;
    let sink = &s.pipeline.sink;
    let rf = s.replication_factor;
    let mut config = json!({
        "config.storage.replication.factor": rf,
        "offset.storage.replication.factor": rf,
        "status.storage.replication.factor": rf,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
        "consumer.max.poll.records": sink.max_poll_records,
        "consumer.fetch.min.bytes": sink.fetch_min_bytes,
        "consumer.fetch.max.wait.ms": sink.fetch_max_wait_ms,
        "offset.flush.interval.ms": sink.commit_interval_ms,
        "plugin.discovery": "service_load",
        "config.providers": "directory",
        "config.providers.directory.class":
            "org.apache.kafka.common.config.provider.DirectoryConfigProvider",
        "config.providers.directory.param.allowed.paths": WRITER_MOUNT,
    });
    if ctx.phase.enforces_authorization() {
        config["connector.client.config.override.policy"] = json!("None");
    }
    let mut metadata = ctx.metadata(&ctx.names.project, ServiceKind::Connect.name());
    metadata["annotations"] = json!({ "strimzi.io/use-connector-resources": "true" });
    let volume = "clickhouse-writer";
    let mut spec = json!({
        "version": s.kafka.version,
        "replicas": 1,
        "image": ctx.service("connect")?.image,
        "bootstrapServers": ctx.names.bootstrap(s.kafka.listeners.internal),
        "groupId": s.connect.group_id,
        "configStorageTopic": s.connect.topics.configs,
        "offsetStorageTopic": s.connect.topics.offsets,
        "statusStorageTopic": s.connect.topics.status,
        "authentication": {
            "type": "scram-sha-512",
            "username": ctx.names.user(KafkaRole::Connect),
            "passwordSecret": {
                "secretName": ctx.names.kafka_secret(KafkaRole::Connect),
                "password": "password",
            },
        },
        "config": config,
        "template": {
            "pod": {
                "metadata": { "labels": {
                    super::KAFKA_LABEL: super::access::kafka_role_label(KafkaRole::Connect),
                    super::CLICKHOUSE_LABEL: "writer",
                } },
                "volumes": [{
                    "name": volume,
                    "secret": { "secretName": writer_secret(ctx), "defaultMode": 0o400 },
                }],
            },
            "connectContainer": {
                "volumeMounts": [{ "name": volume, "mountPath": WRITER_MOUNT, "readOnly": true }],
            },
        },
    });
    if let Some(resources) = ctx.resources("connect")? {
        spec["resources"] = resources;
    }
    Ok(json!({ "apiVersion": API, "kind": "KafkaConnect", "metadata": metadata, "spec": spec }))
}

fn connector(ctx: &Ctx) -> Value {
    let s = ctx.settings;
    let sink = &s.pipeline.sink;
    let reference = |key: &str| format!("${{directory:{WRITER_MOUNT}:{key}}}");
    let config = json!({
        "topics": s.pipeline.topic,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
        "clickhouse.url": format!("http://{}:{}/", super::clickhouse::service_host(ctx), s.clickhouse.http_port),
        "clickhouse.table": format!("{}.{}", s.clickhouse.database, s.pipeline.table),
        "clickhouse.user": reference("user"),
        "clickhouse.password": reference("password"),
        "batch.max.records": sink.batch_size.to_string(),
        "batch.linger.ms": sink.linger_ms.to_string(),
        "errors.tolerance": "all",
        "errors.log.enable": "true",
        "errors.log.include.messages": "false",
        "errors.deadletterqueue.topic.name": s.pipeline.dead_letter_topic,
        "errors.deadletterqueue.topic.replication.factor": s.replication_factor.to_string(),
        "errors.deadletterqueue.context.headers.enable": "true",
    });
    let mut metadata = ctx.metadata(&ctx.names.connector, "kafka-connector");
    metadata["labels"]["strimzi.io/cluster"] = json!(ctx.names.project);
    json!({
        "apiVersion": API,
        "kind": "KafkaConnector",
        "metadata": metadata,
        "spec": {
            "class": "io.stackctl.connect.clickhouse.ClickHouseSinkConnector",
            "tasksMax": sink.tasks,
            "config": config,
        }
    })
}
