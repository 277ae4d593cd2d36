//! The Schema Registry (Apicurio) as a Deployment + Service. Non-secret settings are environment
//! variables (Quarkus maps `APICURIO_KAFKASQL_TOPIC` to `apicurio.kafkasql.topic`); the Kafka
//! login and, from phase 5, the REST login's digest are a properties file from a mounted Secret
//! (`quarkus.config.locations`), never an environment value.

use serde_json::{Value, json};

use super::{Ctx, KubeError, Manifest};
use crate::settings::{KafkaRole, ServiceKind};

/// The key of the registry's Secret, mounted as a file under [`MOUNT`].
pub const SECRET_KEY: &str = "secrets.properties";
pub const MOUNT: &str = "/etc/stackctl/schema-registry";

pub(super) fn name(ctx: &Ctx) -> String {
    format!("{}-schema-registry", ctx.names.project)
}

/// The Secret holding the registry's Kafka JAAS line and REST digest.
pub(super) fn secret(ctx: &Ctx) -> String {
    name(ctx)
}

/// Labels that select the registry's pods.
pub(super) fn selector(ctx: &Ctx) -> Value {
    json!({ "app.kubernetes.io/name": name(ctx) })
}

pub(super) fn manifests(ctx: &Ctx) -> Result<Vec<Manifest>, KubeError> {
    let s = ctx.settings;
    let port = s.schema_registry.port;
    let component = ServiceKind::SchemaRegistry.name();
    let mut container = json!({
        "name": component,
        "image": ctx.service("schema-registry")?.image,
        "ports": [{ "name": "http", "containerPort": port }],
        "env": env(ctx),
        "volumeMounts": [{ "name": "secrets", "mountPath": MOUNT, "readOnly": true }],
        "readinessProbe": { "httpGet": { "path": "/health/ready", "port": port } },
        "securityContext": { "allowPrivilegeEscalation": false },
    });
    if let Some(resources) = ctx.resources("schema-registry")? {
        container["resources"] = resources;
    }
    let mut pod_labels = ctx.labels(component);
    pod_labels["app.kubernetes.io/name"] = json!(name(ctx));
    pod_labels[super::KAFKA_LABEL] =
        json!(super::access::kafka_role_label(KafkaRole::SchemaRegistry));
    let deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": ctx.metadata(&name(ctx), component),
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": selector(ctx) },
            "template": {
                "metadata": { "labels": pod_labels },
                "spec": {
                    "automountServiceAccountToken": false,
                    "containers": [container],
                    "volumes": [{
                        "name": "secrets",
                        "secret": { "secretName": secret(ctx), "defaultMode": 0o400 },
                    }],
                },
            },
        },
    });
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": ctx.metadata(&name(ctx), component),
        "spec": {
            "selector": selector(ctx),
            "ports": [{ "name": "http", "port": port, "targetPort": "http" }],
        },
    });
    Ok(vec![
        Manifest::new("schema-registry/deployment.yaml", deployment),
        Manifest::new("schema-registry/service.yaml", service),
    ])
}

fn env(ctx: &Ctx) -> Vec<Value> {
    let s = ctx.settings;
    let t = &s.schema_registry.topics;
    let mut vars = vec![
        ("QUARKUS_HTTP_PORT", s.schema_registry.port.to_string()),
        (
            "QUARKUS_CONFIG_LOCATIONS",
            format!("file:{MOUNT}/{SECRET_KEY}"),
        ),
        ("APICURIO_STORAGE_KIND", "kafkasql".into()),
        (
            "APICURIO_KAFKASQL_BOOTSTRAP_SERVERS",
            ctx.names.bootstrap(s.kafka.listeners.internal),
        ),
        ("APICURIO_KAFKASQL_TOPIC", t.journal.clone()),
        ("APICURIO_KAFKASQL_SNAPSHOTS_TOPIC", t.snapshots.clone()),
        ("APICURIO_EVENTS_KAFKA_TOPIC", t.events.clone()),
        (
            "APICURIO_KAFKASQL_TOPIC_AUTO_CREATE",
            (!ctx.phase.explicit_topics()).to_string(),
        ),
        (
            "APICURIO_KAFKASQL_CONSUMER_GROUP_PREFIX",
            s.schema_registry.group_prefix.clone(),
        ),
        ("APICURIO_KAFKASQL_SECURITY_SASL_ENABLED", "false".into()),
        (
            "APICURIO_KAFKA_COMMON_SECURITY_PROTOCOL",
            "SASL_PLAINTEXT".into(),
        ),
        (
            "APICURIO_KAFKA_COMMON_SASL_MECHANISM",
            "SCRAM-SHA-512".into(),
        ),
    ];
    if ctx.phase.enforces_authorization() {
        vars.extend([
            ("QUARKUS_OIDC_TENANT_ENABLED", "false".to_string()),
            ("QUARKUS_HTTP_AUTH_BASIC", "true".into()),
            ("QUARKUS_SECURITY_USERS_EMBEDDED_ENABLED", "true".into()),
            ("QUARKUS_SECURITY_USERS_EMBEDDED_PLAIN_TEXT", "false".into()),
            (
                "QUARKUS_SECURITY_USERS_EMBEDDED_ALGORITHM",
                "digest-sha-256".into(),
            ),
        ]);
    }
    vars.into_iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect()
}

/// The Kafka user the registry logs in as (for the JAAS line in its Secret).
pub(super) fn kafka_user<'a>(ctx: &'a Ctx) -> &'a str {
    ctx.names.user(KafkaRole::SchemaRegistry)
}
