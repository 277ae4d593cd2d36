//! Kafka Connect: REST up, internal topics exist and are compacted, the sink connector and its
//! tasks are RUNNING, and its config as returned by REST holds references, never a secret.

use std::time::Duration;

use super::{Check, check, fail, pass};
use crate::clients::Login;
use crate::clients::connect::Connect;
use crate::clients::kafka::Kafka;
use crate::config::KafkaRole;

fn connect(ctx: &super::Context) -> Connect {
    Connect::new(ctx.settings.connect.host_port, Duration::from_secs(10))
}

/// RUNNING passes at once and FAILED or PAUSED fails at once. States a worker passes through
/// while its group rebalances (after a broker restart: UNASSIGNED, RESTARTING, no tasks yet, or
/// REST answering 409) are waited out, up to 30 s; then the last one seen is the failure.
async fn connector_running(ctx: &super::Context) -> super::Outcome {
    let name = &ctx.settings.connect.connector;
    let rest = connect(ctx);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let last = match rest.status(name).await {
            Ok(Some(s)) if s.running() => {
                return pass(format!(
                    "{name}: connector RUNNING, {} task(s) RUNNING",
                    s.tasks.len()
                ));
            }
            Ok(Some(s))
                if s.connector == "FAILED"
                    || s.connector == "PAUSED"
                    || s.tasks.iter().any(|t| t == "FAILED" || t == "PAUSED") =>
            {
                return fail(format!(
                    "{name}: connector {} tasks {:?} {}; see `stackctl logs connect`",
                    s.connector,
                    s.tasks,
                    s.trace.unwrap_or_default()
                ));
            }
            Ok(Some(s)) => format!("connector {} tasks {:?}", s.connector, s.tasks),
            Ok(None) => {
                return fail(format!(
                    "connector {name} is not deployed; `stackctl up` deploys it"
                ));
            }
            Err(e) => format!("status request failed: {e}"),
        };
        if std::time::Instant::now() >= deadline {
            return fail(format!(
                "{name} not RUNNING within 30 s; last: {last}; see `stackctl logs connect`"
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub fn checks() -> Vec<Check> {
    vec![
        check!("connect.rest", "connect", from 1, Positive, 10, "REST API answers", |ctx| {
            match connect(ctx).root().await {
                Ok(v) => pass(format!("Connect {} answers", v["version"].as_str().unwrap_or("?"))),
                Err(e) => fail(format!("Connect REST unreachable on port {}: {e}", ctx.settings.connect.host_port)),
            }
        }),
        check!("connect.internal-topics", "connect", from 1, Positive, 20, "config/offsets/status topics exist and are compacted", |ctx| {
            let Some(admin) = Login::kafka(&ctx.settings, &ctx.secrets, KafkaRole::Admin) else { return fail("no secret for admin") };
            let t = &ctx.settings.connect.topics;
            let names = [t.configs.as_str(), t.offsets.as_str(), t.status.as_str()];
            match Kafka::new(format!("localhost:{}", ctx.settings.kafka.host_port)).cleanup_policies(&admin, &names).await {
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
        check!("connect.connector-running", "connect", from 1, Positive, 35, "sink connector and tasks RUNNING", |ctx| {
            connector_running(ctx).await
        }),
        check!("connect.config-no-secret", "connect", from 1, Negative, 10, "connector config over REST holds no plaintext secret", |ctx| {
            let name = &ctx.settings.connect.connector;
            match connect(ctx).config(name).await {
                Ok((200, body)) => {
                    let leaked = ctx.secrets.values().filter(|s| body.contains(s.expose())).count();
                    if leaked > 0 {
                        fail(format!("GET /connectors/{name}/config returns {leaked} plaintext secret value(s); use ${{file:…}} references (templates/connect/clickhouse-sink.json.j2)"))
                    } else if ctx.phase >= 2 && !body.contains("${file:") {
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
