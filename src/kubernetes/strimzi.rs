//! Strimzi (`kafka.strimzi.io/v1`): the `Kafka` cluster in KRaft mode, its `KafkaNodePool`, a
//! `KafkaUser` per principal with exactly the declared ACLs, a `KafkaTopic` per topic.

use serde_json::{Value, json};

use super::{Ctx, KubeError, Manifest};
use crate::orchestrate::topic_plan;
use crate::settings::{Grant, KafkaRole, Operation, PatternType, Phase, ResourceType, ServiceKind};

pub(super) const API: &str = "kafka.strimzi.io/v1";
/// The one listener clients use: SCRAM-SHA-512 on every connection.
pub(super) const LISTENER: &str = "internal";

pub(super) fn manifests(ctx: &Ctx) -> Result<Vec<Manifest>, KubeError> {
    let mut out = vec![
        Manifest::new("kafka/kafka.yaml", kafka(ctx)),
        Manifest::new("kafka/node-pool.yaml", node_pool(ctx)?),
    ];
    for role in KafkaRole::ALL {
        let name = ctx.names.user(role);
        out.push(Manifest::new(
            format!("kafka/users/{name}.yaml"),
            user(ctx, role),
        ));
    }
    for topic in topic_plan(ctx.settings, Phase::MAX) {
        let object = super::dns_label_of(&topic.name);
        let mut config = serde_json::Map::new();
        if topic.compacted {
            config.insert("cleanup.policy".into(), json!("compact"));
        }
        let mut metadata = ctx.metadata(&object, "kafka-topic");
        metadata["labels"]["strimzi.io/cluster"] = json!(ctx.names.project);
        out.push(Manifest::new(
            format!("kafka/topics/{object}.yaml"),
            json!({
                "apiVersion": API,
                "kind": "KafkaTopic",
                "metadata": metadata,
                "spec": {
                    "topicName": topic.name,
                    "partitions": topic.partitions,
                    "replicas": topic.replication,
                    "config": config,
                }
            }),
        ));
    }
    Ok(out)
}

fn kafka(ctx: &Ctx) -> Value {
    let s = ctx.settings;
    let rf = s.replication_factor;
    let mut kafka = json!({
        "version": s.kafka.version,
        "listeners": [{
            "name": LISTENER,
            "port": s.kafka.listeners.internal,
            "type": "internal",
            "tls": false,
            "authentication": { "type": "scram-sha-512" },
            "networkPolicyPeers": super::access::kafka_peers(ctx),
        }],
        "config": {
            "default.replication.factor": rf,
            "offsets.topic.replication.factor": rf,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": 1,
            "num.partitions": 1,
            "auto.create.topics.enable": !ctx.phase.explicit_topics(),
        },
    });
    if ctx.phase.enforces_authorization() {
        kafka["authorization"] = json!({
            "type": "simple",
            "superUsers": [ctx.names.user(KafkaRole::Admin)],
        });
    }
    // KRaft and node pools are Strimzi 1.x's only mode: no annotation asks for them.
    let metadata = ctx.metadata(&ctx.names.project, ServiceKind::Kafka.name());
    json!({
        "apiVersion": API,
        "kind": "Kafka",
        "metadata": metadata,
        "spec": {
            "kafka": kafka,
            "entityOperator": { "topicOperator": {}, "userOperator": {} },
        }
    })
}

fn node_pool(ctx: &Ctx) -> Result<Value, KubeError> {
    let mut metadata = ctx.metadata("broker-controller", ServiceKind::Kafka.name());
    metadata["labels"]["strimzi.io/cluster"] = json!(ctx.names.project);
    let mut spec = json!({
        "replicas": ctx.settings.kafka.brokers,
        "roles": ["controller", "broker"],
        "storage": {
            "type": "jbod",
            "volumes": [{
                "id": 0,
                "type": "persistent-claim",
                "size": "10Gi",
                "deleteClaim": false,
                "kraftMetadata": "shared",
            }],
        },
    });
    if let Some(resources) = ctx.resources("kafka")? {
        spec["resources"] = resources;
    }
    Ok(json!({ "apiVersion": API, "kind": "KafkaNodePool", "metadata": metadata, "spec": spec }))
}

/// A KafkaUser: SCRAM-SHA-512 with the password from the principal's Secret; from phase 5 the
/// declared ACLs, nothing more (admin is the super user and has none).
fn user(ctx: &Ctx, role: KafkaRole) -> Value {
    let mut metadata = ctx.metadata(ctx.names.user(role), "kafka-user");
    metadata["labels"]["strimzi.io/cluster"] = json!(ctx.names.project);
    let mut spec = json!({
        "authentication": {
            "type": "scram-sha-512",
            "password": { "valueFrom": { "secretKeyRef": {
                "name": ctx.names.kafka_secret(role),
                "key": "password",
            }}},
        }
    });
    let (grants, _) = ctx.settings.kafka.acls.of(role);
    if ctx.phase.enforces_authorization() && role != KafkaRole::Admin {
        let acls: Vec<Value> = grants.iter().map(acl).collect();
        spec["authorization"] = json!({ "type": "simple", "acls": acls });
    }
    json!({ "apiVersion": API, "kind": "KafkaUser", "metadata": metadata, "spec": spec })
}

fn acl(grant: &Grant) -> Value {
    let mut resource = json!({ "type": resource_type(grant.resource) });
    if grant.resource != ResourceType::Cluster {
        resource["name"] = json!(grant.name);
        resource["patternType"] = json!(pattern_type(grant.pattern));
    }
    let operations: Vec<&str> = grant.operations.iter().map(|o| operation(*o)).collect();
    json!({ "type": "allow", "resource": resource, "operations": operations, "host": "*" })
}

pub(super) fn resource_type(r: ResourceType) -> &'static str {
    match r {
        ResourceType::Topic => "topic",
        ResourceType::Group => "group",
        ResourceType::Cluster => "cluster",
        ResourceType::TransactionalId => "transactionalId",
    }
}

pub(super) fn pattern_type(p: PatternType) -> &'static str {
    match p {
        PatternType::Literal => "literal",
        PatternType::Prefixed => "prefix",
    }
}

/// Strimzi spells operations in CamelCase.
pub(super) fn operation(op: Operation) -> &'static str {
    match op {
        Operation::All => "All",
        Operation::Read => "Read",
        Operation::Write => "Write",
        Operation::Create => "Create",
        Operation::Delete => "Delete",
        Operation::Alter => "Alter",
        Operation::Describe => "Describe",
        Operation::ClusterAction => "ClusterAction",
        Operation::DescribeConfigs => "DescribeConfigs",
        Operation::AlterConfigs => "AlterConfigs",
        Operation::IdempotentWrite => "IdempotentWrite",
    }
}
