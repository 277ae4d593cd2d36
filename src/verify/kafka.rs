//! Kafka: every principal logs in; wrong password, unknown user and a client without SASL are
//! refused the way the broker really refuses them; the broker has no listener without SASL;
//! a round trip works; at phase 4 an unknown topic is not auto-created.

use std::time::Duration;

use super::{Check, Context, Outcome, check, fail, pass};
use crate::clients::Login;
use crate::clients::kafka::{Kafka, LoginOutcome, Security};
use crate::secrets::Secret;
use crate::settings::KafkaRole;

const PROBE: Duration = Duration::from_secs(6);

fn kafka(ctx: &Context) -> Kafka {
    ctx.endpoints.kafka()
}

fn login(ctx: &Context, role: KafkaRole) -> Option<Login> {
    Login::kafka(&ctx.settings, &ctx.secrets, role)
}

async fn positive_login(ctx: &Context, role: KafkaRole) -> Outcome {
    let Some(login) = login(ctx, role) else {
        return fail("no secret loaded for this principal");
    };
    match kafka(ctx)
        .login(&Security::Sasl(login.clone()), Duration::from_secs(10))
        .await
    {
        LoginOutcome::Accepted => pass(format!(
            "{} logged in with SASL/PLAIN and read metadata",
            login.user
        )),
        other => fail(format!(
            "{} could not log in: {other:?}. Check kafka/server.properties (listener JAAS user_{}) against secrets/kafka-{}.password; `stackctl up` re-renders both",
            login.user, login.user, login.user
        )),
    }
}

async fn negative_login(ctx: &Context, security: Security, expect_disconnect: bool) -> Outcome {
    match kafka(ctx).login(&security, PROBE).await {
        LoginOutcome::AuthenticationFailed(reason) if !expect_disconnect => pass(format!(
            "refused by the broker: SASL authentication failed ({})",
            short(&reason)
        )),
        LoginOutcome::DisconnectedDuringHandshake(reason) if expect_disconnect => pass(format!(
            "refused: the broker closed the connection at the first request made without SASL ({})",
            short(&reason)
        )),
        LoginOutcome::Accepted => fail(
            "the broker ACCEPTED this client: a listener does not enforce SASL (check listener.security.protocol.map in kafka/server.properties)",
        ),
        other => fail(format!("not the expected refusal: {other:?}")),
    }
}

fn short(reason: &str) -> String {
    reason.chars().take(120).collect()
}

pub fn checks() -> Vec<Check> {
    vec![
        check!("kafka.login.admin", "kafka", from KafkaAuth, Positive, 15, "admin logs in", |ctx| positive_login(ctx, KafkaRole::Admin).await),
        check!("kafka.login.schema-registry", "kafka", from KafkaAuth, Positive, 15, "schema registry principal logs in", |ctx| positive_login(ctx, KafkaRole::SchemaRegistry).await),
        check!("kafka.login.connect", "kafka", from KafkaAuth, Positive, 15, "connect principal logs in", |ctx| positive_login(ctx, KafkaRole::Connect).await),
        check!("kafka.login.app", "kafka", from KafkaAuth, Positive, 15, "app principal logs in", |ctx| positive_login(ctx, KafkaRole::App).await),
        check!("kafka.refuse.wrong-password", "kafka", from KafkaAuth, Negative, 10, "a wrong password is refused", |ctx| {
            let Some(app) = login(ctx, KafkaRole::App) else { return fail("no secret for app") };
            let wrong = Login { user: app.user.clone(), password: Secret::new(format!("{}-wrong", app.password.expose())) };
            negative_login(ctx, Security::Sasl(wrong), false).await
        }),
        check!("kafka.refuse.unknown-user", "kafka", from KafkaAuth, Negative, 10, "an unknown user is refused", |ctx| {
            let unknown = Login { user: format!("nobody-{}", ctx.run_id), password: Secret::new("unknown-user-password-0123456789abcdef".into()) };
            negative_login(ctx, Security::Sasl(unknown), false).await
        }),
        check!("kafka.refuse.plaintext", "kafka", from KafkaAuth, Negative, 10, "a client without SASL is refused", |ctx| {
            negative_login(ctx, Security::Plaintext, true).await
        }),
        check!("kafka.listeners.sasl-only", "kafka", from KafkaAuth, Positive, 15, "every broker listener, the controller's included, uses SASL", |ctx| {
            let Some(admin) = login(ctx, KafkaRole::Admin) else { return fail("no secret for admin") };
            let keys = ["listener.security.protocol.map", "sasl.mechanism.controller.protocol", "sasl.enabled.mechanisms"];
            match kafka(ctx).broker_config(&admin, ctx.settings.kafka.node_id as i32, &keys).await {
                Ok(values) => {
                    let map = values[0].clone().unwrap_or_default();
                    let open: Vec<&str> = map.split(',').filter(|e| !e.ends_with(":SASL_PLAINTEXT") && !e.ends_with(":SASL_SSL")).collect();
                    if !open.is_empty() {
                        fail(format!("listener(s) without SASL on the running broker: {} (kafka/server.properties, listener.security.protocol.map)", open.join(", ")))
                    } else if values[1].as_deref() != Some("PLAIN") {
                        fail(format!("sasl.mechanism.controller.protocol is {:?}, expected PLAIN", values[1]))
                    } else {
                        pass(format!("protocol map {map}; controller mechanism PLAIN"))
                    }
                }
                Err(e) => fail(format!("cannot read the broker's config as admin: {e}")),
            }
        }),
        check!("kafka.roundtrip", "kafka", from KafkaAuth, Positive, 30, "app produces and consumes back", |ctx| {
            let Some(app) = login(ctx, KafkaRole::App) else { return fail("no secret for app") };
            let topic = ctx.settings.pipeline.topic.clone();
            let marker = format!("rt-{}", ctx.run_id);
            let values: Vec<String> = (1..=3).map(|i| format!("{{\"run_id\":\"{marker}\",\"seq\":{i},\"payload\":\"roundtrip\"}}")).collect();
            let k = kafka(ctx);
            if let Err(e) = k.produce(&app, &topic, &values, Duration::from_secs(10)).await {
                return fail(format!("producing to {topic} as {} failed: {e}", app.user));
            }
            let needle = format!("\"run_id\":\"{marker}\"");
            match k.consume_matching(&app, &topic, &format!("{}verify-{}", ctx.settings.kafka.app_group_prefix, ctx.run_id), 3, move |v| v.contains(&needle), Duration::from_secs(20)).await {
                Ok(3) => pass(format!("3 records produced and consumed back on {topic} as {}", app.user)),
                Ok(n) => fail(format!("consumed {n} of 3 records back from {topic}")),
                Err(e) => fail(format!("consuming from {topic}: {e}")),
            }
        }),
        check!("kafka.unknown-topic.refused", "kafka", from Hardening, Negative, 15, "producing to an unknown topic fails (no auto-creation)", |ctx| {
            // As admin, who may create topics and see every name: the only reason left for a
            // refusal is that the broker does not auto-create (another principal would be refused
            // by authorization first, from phase 5).
            let Some(admin) = login(ctx, KafkaRole::Admin) else { return fail("no secret for admin") };
            // A name no earlier run can have created.
            let topic = format!("stackctl-verify-unknown-{}", ctx.run_id);
            match kafka(ctx).produce(&admin, &topic, &["x".to_string()], Duration::from_secs(6)).await {
                Err(e) if e.contains("Unknown topic") || e.contains("UnknownTopic") => pass(format!("refused: {e}")),
                Err(e) => fail(format!("failed, but not with unknown-topic: {e}")),
                Ok(()) => {
                    // Auto-creation made it: remove it again so checks leave nothing behind.
                    if let Some(admin) = login(ctx, KafkaRole::Admin) {
                        let _ = kafka(ctx).delete_topics(&admin, &[topic.as_str()]).await;
                    }
                    fail(format!("the broker accepted a record for the unknown topic `{topic}` and created it: auto.create.topics.enable is not false"))
                }
            }
        }),
    ]
}
