//! Kafka Connect: REST up, internal topics exist and are compacted, the sink connector and its
//! tasks are RUNNING, and its config as returned by REST holds references, never a secret.

use std::time::Duration;

use super::{Check, check, fail, pass};
use crate::clients::Login;
use crate::clients::connect::{Connect, Expect, RUNNING_BOUND, SETTLE_RUNNING};
use crate::settings::KafkaRole;

fn connect(ctx: &super::Context) -> Connect {
    ctx.endpoints.connect(Duration::from_secs(10))
}

/// RUNNING (and still so a moment later) passes; FAILED or PAUSED fails at once; a rebalance is
/// waited out (one bound, shared with `up`).
async fn connector_running(ctx: &super::Context) -> super::Outcome {
    let name = &ctx.settings.connect.connector;
    match connect(ctx)
        .wait_running(name, RUNNING_BOUND, Expect::Deployed, SETTLE_RUNNING)
        .await
    {
        Ok(s) => pass(format!(
            "{name}: connector RUNNING, {} task(s) RUNNING",
            s.tasks.len()
        )),
        Err(e) => fail(e.to_string()),
    }
}

pub fn checks() -> Vec<Check> {
    vec![
        check!("connect.rest", "connect", from KafkaAuth, Positive, 10, "REST API answers", |ctx| {
            match connect(ctx).root().await {
                Ok(v) => pass(format!("Connect {} answers", v["version"].as_str().unwrap_or("?"))),
                Err(e) => fail(format!("Connect REST unreachable on port {}: {e}", ctx.settings.connect.host_port)),
            }
        }),
        check!("connect.internal-topics", "connect", from KafkaAuth, Positive, 20, "config/offsets/status topics exist and are compacted", |ctx| {
            let Some(admin) = Login::kafka(&ctx.settings, &ctx.secrets, KafkaRole::Admin) else { return fail("no secret for admin") };
            let t = &ctx.settings.connect.topics;
            let names = [t.configs.as_str(), t.offsets.as_str(), t.status.as_str()];
            match ctx.endpoints.kafka().cleanup_policies(&admin, &names).await {
                Ok(policies) => {
                    let wrong: Vec<String> = names.iter().zip(&policies)
                        .filter(|(_, p)| p.as_deref() != Some("compact"))
                        .map(|(n, p)| format!("{n}: {}", p.as_deref().unwrap_or("missing")))
                        .collect();
                    if wrong.is_empty() { pass(format!("{} compacted", names.join(", "))) } else { fail(format!("not compacted or missing: {}", wrong.join("; "))) }
                }
                Err(e) => fail(format!("describing Connect's topics: {e}")),
            }
        }),
        check!("connect.connector-running", "connect", from KafkaAuth, Positive, 65, "sink connector and tasks RUNNING", |ctx| {
            connector_running(ctx).await
        }),
        check!("connect.config-no-secret", "connect", from KafkaAuth, Negative, 10, "connector config over REST holds no plaintext secret", |ctx| {
            let name = &ctx.settings.connect.connector;
            match connect(ctx).config(name).await {
                Ok((200, body)) => {
                    let leaked = super::hygiene::leaks(&ctx.forms, &body);
                    if !leaked.is_empty() {
                        fail(format!("GET /connectors/{name}/config returns secret value(s) of {}; use ${{file:…}} references (templates/connect/clickhouse-sink.json.j2)", leaked.join(", ")))
                    } else if ctx.phase.enforces_clickhouse_auth() && !body.contains("${file:") {
                        fail("the connector config carries no ${file:…} reference for the ClickHouse credentials")
                    } else {
                        pass("no secret value in the REST config; credentials are ${file:…} references")
                    }
                }
                Ok((code, _)) => fail(format!("GET /connectors/{name}/config → {code}")),
                Err(e) => fail(format!("connector config: {e}")),
            }
        }),
    ]
}
