//! Schema Registry: up, lists subjects, registers a schema and reads it back (which only works if
//! its own Kafka login works, since schemas live in Kafka).

use std::time::Duration;

use super::{Check, check, fail, pass};
use crate::clients::schema_registry::SchemaRegistry;

fn registry(ctx: &super::Context) -> SchemaRegistry {
    ctx.endpoints.schema_registry(Duration::from_secs(10))
}

pub fn checks() -> Vec<Check> {
    vec![
        check!("schema-registry.ready", "schema-registry", from KafkaAuth, Positive, 10, "REST API ready", |ctx| {
            match registry(ctx).ready().await {
                Ok(200) => pass("GET /health/ready → 200"),
                Ok(code) => fail(format!("GET /health/ready → {code}; see `stackctl logs schema-registry`")),
                Err(e) => fail(format!("Schema Registry unreachable on port {}: {e}", ctx.settings.schema_registry.host_port)),
            }
        }),
        check!("schema-registry.subjects", "schema-registry", from KafkaAuth, Positive, 10, "lists subjects", |ctx| {
            match registry(ctx).subjects().await {
                Ok(subjects) => pass(format!("GET /subjects → {} subject(s)", subjects.len())),
                Err(e) => fail(format!("GET /apis/ccompat/v7/subjects failed: {e}")),
            }
        }),
        check!("schema-registry.register", "schema-registry", from KafkaAuth, Positive, 20, "registers a schema and reads it back", |ctx| {
            let r = registry(ctx);
            let subject = "stackctl-verify-value";
            let schema = format!(
                "{{\"type\":\"record\",\"name\":\"Verify\",\"namespace\":\"stackctl.verify\",\"doc\":\"{}\",\"fields\":[{{\"name\":\"run_id\",\"type\":\"string\"}}]}}",
                ctx.run_id
            );
            let id = match r.register(subject, &schema).await {
                Ok((200, body)) => body["id"].as_i64(),
                Ok((code, body)) => return fail(format!("POST /subjects/{subject}/versions → {code}: {body}. The registry stores schemas in Kafka: check its principal's login (`stackctl logs schema-registry`)")),
                Err(e) => return fail(format!("POST /subjects/{subject}/versions failed: {e}")),
            };
            match r.latest(subject).await {
                Ok((200, body)) if body["schema"].as_str().is_some_and(|s| s.contains(&ctx.run_id)) => {
                    pass(format!("registered {subject} (id {}) and read it back", id.unwrap_or(-1)))
                }
                Ok((code, _)) => fail(format!("reading {subject} back → {code}, not the schema just registered")),
                Err(e) => fail(format!("reading {subject} back failed: {e}")),
            }
        }),
    ]
}
