//! The authorization verdicts: each accepted refusal and each look-alike.

use rdkafka::types::RDKafkaErrorCode::*;

use super::*;

fn passes(o: &Outcome) -> bool {
    matches!(o, Outcome::Pass(_))
}

#[test]
fn only_the_listed_authorization_codes_are_a_refusal() {
    let codes = [TopicAuthorizationFailed, GroupAuthorizationFailed];
    assert!(passes(&refused(
        "x",
        Access::Refused(TopicAuthorizationFailed),
        &codes
    )));
    assert!(passes(&refused(
        "x",
        Access::Refused(GroupAuthorizationFailed),
        &codes
    )));
    for look_alike in [
        Access::Allowed,
        Access::Refused(UnknownTopicOrPartition),
        Access::Refused(BrokerTransportFailure),
        Access::Refused(OperationTimedOut),
        Access::Refused(ClusterAuthorizationFailed),
        Access::Inconclusive("no answer within 10 s".into()),
    ] {
        assert!(
            !passes(&refused("x", look_alike.clone(), &codes)),
            "{look_alike:?}"
        );
    }
}

#[test]
fn rest_refusal_is_401_only() {
    assert!(passes(&rest_verdict("anon", "/connectors", Ok(401))));
    for status in [
        Ok(200),
        Ok(403),
        Ok(404),
        Ok(500),
        Err("connection refused".to_string()),
    ] {
        assert!(
            !passes(&rest_verdict("anon", "/connectors", status.clone())),
            "{status:?}"
        );
    }
}

#[test]
fn the_authorizer_must_run_and_close_resources_without_acls() {
    let standard = Some("org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    assert!(authorizer_findings(standard, Some("false")).is_empty());
    // Absent is Kafka's default, false.
    assert!(authorizer_findings(standard, None).is_empty());
    assert_eq!(authorizer_findings(standard, Some("true")).len(), 1);
    assert_eq!(authorizer_findings(None, Some("false")).len(), 1);
    assert_eq!(authorizer_findings(Some(""), Some("TRUE")).len(), 2);
}
