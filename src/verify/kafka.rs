//! Kafka: every principal logs in; wrong password, unknown user and a client without SASL are
//! refused the way the broker really refuses them; the broker has no listener without SASL;
//! a round trip works; at phase 4 an unknown topic is not auto-created.

use std::time::Duration;

use super::{Check, Context, Outcome, check, fail, pass};
use crate::clients::Login;
use rdkafka::error::RDKafkaErrorCode;

use crate::clients::kafka::{Kafka, KafkaCallError, LoginOutcome, Security};
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

/// The refusal a negative login expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A SASL client with a bad credential: the broker's SASL authentication failure.
    Authentication,
    /// A client without SASL: the broker answered, then closed before serving metadata.
    CloseAfterBrokerSpoke,
}

/// The verdict on a negative login: pass only on exactly the expected refusal.
pub fn refusal_verdict(outcome: &LoginOutcome, expected: Refusal) -> Outcome {
    match (outcome, expected) {
        (LoginOutcome::AuthenticationFailed(reason), Refusal::Authentication) => pass(format!(
            "refused by the broker: SASL authentication failed ({})",
            short(reason)
        )),
        (LoginOutcome::DisconnectedDuringHandshake(reason), Refusal::CloseAfterBrokerSpoke) => {
            pass(format!(
                "refused: the broker answered, then closed the connection at the first request made without SASL ({})",
                short(reason)
            ))
        }
        (LoginOutcome::Accepted, _) => fail(
            "the broker ACCEPTED this client: a listener does not enforce SASL (check listener.security.protocol.map in kafka/server.properties)",
        ),
        (LoginOutcome::ClosedWithoutAnswer(reason), _) => fail(format!(
            "could not look: {}. Is the broker running and listening on its port? (`stackctl status`, `stackctl logs kafka`)",
            short(reason)
        )),
        (other, _) => fail(format!("not the expected refusal: {other:?}")),
    }
}

async fn negative_login(ctx: &Context, security: Security, expected: Refusal) -> Outcome {
    refusal_verdict(&kafka(ctx).login(&security, PROBE).await, expected)
}

/// The verdict on producing to a topic that does not exist: pass only on the unknown-topic code.
pub fn unknown_topic_verdict(topic: &str, result: &Result<(), KafkaCallError>) -> Outcome {
    match result {
        Err(e)
            if matches!(
                e.code,
                Some(RDKafkaErrorCode::UnknownTopic | RDKafkaErrorCode::UnknownTopicOrPartition)
            ) =>
        {
            pass(format!("refused with {:?}: {e}", e.code))
        }
        Err(e) => fail(format!(
            "failed, but not with an unknown-topic code ({:?}): {e}",
            e.code
        )),
        Ok(()) => fail(format!(
            "the broker accepted a record for the unknown topic `{topic}` and created it: auto.create.topics.enable is not false"
        )),
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
            negative_login(ctx, Security::Sasl(wrong), Refusal::Authentication).await
        }),
        check!("kafka.refuse.unknown-user", "kafka", from KafkaAuth, Negative, 10, "an unknown user is refused", |ctx| {
            let unknown = Login { user: format!("nobody-{}", ctx.run_id), password: Secret::new("unknown-user-password-0123456789abcdef".into()) };
            negative_login(ctx, Security::Sasl(unknown), Refusal::Authentication).await
        }),
        check!("kafka.refuse.plaintext", "kafka", from KafkaAuth, Negative, 10, "a client without SASL is refused", |ctx| {
            negative_login(ctx, Security::Plaintext, Refusal::CloseAfterBrokerSpoke).await
        }),
        check!("kafka.listeners.sasl-only", "kafka", from KafkaAuth, Positive, 15, "every broker listener, the controller's included, uses SASL", |ctx| {
            let Some(admin) = login(ctx, KafkaRole::Admin) else { return fail("no secret for admin") };
            let keys = ["listener.security.protocol.map", "sasl.mechanism.controller.protocol", "sasl.enabled.mechanisms"];
            match kafka(ctx).broker_config(&admin, ctx.settings.kafka.node_id.cast_signed(), &keys).await {
                Ok(values) if values[0].is_none() => fail("the broker did not report listener.security.protocol.map, so its listeners cannot be judged"),
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
            let result = kafka(ctx).produce(&admin, &topic, &["x".to_string()], Duration::from_secs(6)).await;
            if result.is_ok() {
                // Auto-creation made it: remove it again so checks leave nothing behind.
                let _ = kafka(ctx).delete_topics(&admin, &[topic.as_str()]).await;
            }
            unknown_topic_verdict(&topic, &result)
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes(o: &Outcome) -> bool {
        matches!(o, Outcome::Pass(_))
    }

    #[test]
    fn each_refusal_passes_only_where_expected() {
        use LoginOutcome::*;
        use Refusal::*;
        let auth = AuthenticationFailed("Authentication failed".into());
        let closed = DisconnectedDuringHandshake("answered 1, closed 1".into());
        assert!(passes(&refusal_verdict(&auth, Authentication)));
        assert!(passes(&refusal_verdict(&closed, CloseAfterBrokerSpoke)));
        // Each look-alike, for each expectation: a fail.
        let look_alikes = [
            Accepted,
            ClosedWithoutAnswer("connections closed before any response (proxy)".into()),
            ClosedWithoutAnswer("Connection refused".into()),
            Inconclusive("no answer within 6000 ms".into()),
        ];
        for expected in [Authentication, CloseAfterBrokerSpoke] {
            for outcome in &look_alikes {
                assert!(!passes(&refusal_verdict(outcome, expected)), "{outcome:?}");
            }
        }
        assert!(!passes(&refusal_verdict(&closed, Authentication)));
        assert!(!passes(&refusal_verdict(&auth, CloseAfterBrokerSpoke)));
        let proxy = refusal_verdict(&ClosedWithoutAnswer("x".into()), CloseAfterBrokerSpoke);
        assert!(matches!(&proxy, Outcome::Fail(r) if r.starts_with("could not look")));
    }

    #[test]
    fn unknown_topic_is_judged_by_its_code() {
        let err = |code| {
            Err(KafkaCallError {
                call: "producing to t".into(),
                code,
                message: "Unknown topic or partition".into(),
            })
        };
        assert!(passes(&unknown_topic_verdict(
            "t",
            &err(Some(RDKafkaErrorCode::UnknownTopic))
        )));
        assert!(passes(&unknown_topic_verdict(
            "t",
            &err(Some(RDKafkaErrorCode::UnknownTopicOrPartition))
        )));
        // The same text with another code, or none, is not the refusal.
        assert!(!passes(&unknown_topic_verdict(
            "t",
            &err(Some(RDKafkaErrorCode::MessageTimedOut))
        )));
        assert!(!passes(&unknown_topic_verdict(
            "t",
            &err(Some(RDKafkaErrorCode::TopicAuthorizationFailed))
        )));
        assert!(!passes(&unknown_topic_verdict("t", &err(None))));
        assert!(!passes(&unknown_topic_verdict("t", &Ok(()))));
    }
}
