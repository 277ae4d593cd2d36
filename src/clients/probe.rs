//! The login probe: what a client with a given security setting gets from the broker, judged on
//! librdkafka's structured evidence — error codes and its statistics counters — never on the text
//! of its log lines.
//!
//! A SASL listener answers ApiVersions (allowed before authentication) and closes the connection
//! at the first other request from a client that does not speak SASL. librdkafka counts the
//! answer as a received response (`rx`) and the close as a disconnect (`disconnects`, counted only
//! once the connection was UP, i.e. after ApiVersions was answered). A port that accepts and
//! closes without speaking Kafka — Docker's port proxy while the container runs but no broker
//! listens — yields a close with no response at all. Only the first is a refusal.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;

use super::kafka::LoginOutcome;

/// How often librdkafka reports its counters during a probe.
pub(super) const STATS_INTERVAL_MS: &str = "100";

/// What a probe has seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Metadata was fetched.
    pub metadata: bool,
    /// Brokers the client learned from a Metadata response (statistics: `source` "learned").
    /// Only an authenticated connection is served Metadata, so one is as good as `metadata`:
    /// librdkafka (2.10+) then closes its bootstrap connections, a disconnect that is no refusal.
    pub learned_brokers: usize,
    /// The reason given with an error of code `Authentication` (SASL authentication failed).
    pub authentication_failed: Option<String>,
    /// Responses received from any broker (statistics `rx`).
    pub responses: u64,
    /// Connections closed after they were UP (statistics `disconnects`).
    pub disconnects: u64,
    /// The last error librdkafka reported, for the message.
    pub last_error: Option<String>,
}

/// The outcome once `evidence` decides one; `None` while it does not and time remains.
pub fn judge(evidence: &Evidence, out_of_time: bool, bound: Duration) -> Option<LoginOutcome> {
    if evidence.metadata || evidence.learned_brokers > 0 {
        return Some(LoginOutcome::Accepted);
    }
    if let Some(reason) = &evidence.authentication_failed {
        return Some(LoginOutcome::AuthenticationFailed(reason.clone()));
    }
    if evidence.responses > 0 && evidence.disconnects > 0 {
        return Some(LoginOutcome::DisconnectedDuringHandshake(format!(
            "the broker answered {} request(s), then closed the connection {} time(s) before serving metadata",
            evidence.responses, evidence.disconnects
        )));
    }
    if !out_of_time {
        return None;
    }
    let last = evidence
        .last_error
        .clone()
        .unwrap_or_else(|| "no error reported".into());
    Some(
        if evidence.responses == 0 && evidence.last_error.is_some() {
            LoginOutcome::ClosedWithoutAnswer(format!(
                "nothing behind the port answered a Kafka request within {} ms: connections failed or closed before any response, so no broker was heard ({last})",
                bound.as_millis()
            ))
        } else {
            LoginOutcome::Inconclusive(format!(
                "no answer within {} ms ({last})",
                bound.as_millis()
            ))
        },
    )
}

/// Collects errors and statistics for one probe.
#[derive(Clone, Default)]
struct ProbeContext {
    seen: Arc<Mutex<Evidence>>,
}

impl ProbeContext {
    fn snapshot(&self) -> Evidence {
        self.seen.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl ClientContext for ProbeContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if let Ok(mut seen) = self.seen.lock() {
            if error.rdkafka_error_code() == Some(RDKafkaErrorCode::Authentication) {
                seen.authentication_failed = Some(reason.to_string());
            }
            seen.last_error = Some(reason.to_string());
        }
    }

    fn stats(&self, statistics: Statistics) {
        if let Ok(mut seen) = self.seen.lock() {
            let brokers = statistics.brokers.values();
            seen.responses = brokers.clone().map(|b| b.rx).sum();
            seen.learned_brokers = brokers
                .clone()
                .filter(|b| b.source == "learned" && b.nodeid >= 0)
                .count();
            // Absent from the statistics counts as no disconnect seen: no evidence, no refusal.
            seen.disconnects = brokers
                .filter_map(|b| b.disconnects.and_then(|d| u64::try_from(d).ok()))
                .sum();
        }
    }

    // The probe judges counters and codes; log lines are not needed and not printed.
    fn log(&self, _level: rdkafka::config::RDKafkaLogLevel, _fac: &str, _message: &str) {}
}

impl ConsumerContext for ProbeContext {}

/// Tries to fetch metadata with `cfg` within `bound` and judges what happened.
pub fn login_blocking(mut cfg: ClientConfig, bound: Duration) -> LoginOutcome {
    cfg.set("statistics.interval.ms", STATS_INTERVAL_MS);
    let consumer: BaseConsumer<ProbeContext> =
        match cfg.create_with_context(ProbeContext::default()) {
            Ok(c) => c,
            Err(e) => return LoginOutcome::Inconclusive(e.to_string()),
        };
    let deadline = Instant::now() + bound;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let fetched = consumer
            .fetch_metadata(None, remaining.min(Duration::from_millis(500)))
            .is_ok();
        // Serve callbacks so the context sees errors and statistics.
        let _ = consumer.poll(Duration::from_millis(50));
        let mut evidence = consumer.context().snapshot();
        evidence.metadata = fetched;
        if let Some(outcome) = judge(&evidence, Instant::now() >= deadline, bound) {
            return outcome;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUND: Duration = Duration::from_secs(6);

    fn outcome(e: &Evidence) -> Option<LoginOutcome> {
        judge(e, true, BOUND)
    }

    #[test]
    fn each_accepted_refusal_and_each_look_alike() {
        let accepted = Evidence {
            metadata: true,
            ..Evidence::default()
        };
        assert_eq!(outcome(&accepted), Some(LoginOutcome::Accepted));
        let wrong_password = Evidence {
            authentication_failed: Some("SASL authentication error: Authentication failed".into()),
            responses: 3,
            disconnects: 1,
            ..Evidence::default()
        };
        assert!(matches!(
            outcome(&wrong_password),
            Some(LoginOutcome::AuthenticationFailed(_))
        ));
        let sasl_listener = Evidence {
            responses: 1,
            disconnects: 1,
            last_error: Some("Disconnected".into()),
            ..Evidence::default()
        };
        assert!(matches!(
            judge(&sasl_listener, false, BOUND),
            Some(LoginOutcome::DisconnectedDuringHandshake(_))
        ));
        // Three nodes: the client's own Metadata arrived (brokers learned) and librdkafka closed
        // its bootstrap connections before the probe's request returned: accepted, not refused.
        let bootstrap_closed = Evidence {
            learned_brokers: 3,
            responses: 4,
            disconnects: 1,
            ..Evidence::default()
        };
        assert_eq!(
            judge(&bootstrap_closed, false, BOUND),
            Some(LoginOutcome::Accepted)
        );
        // Docker's proxy with no broker behind it: closed before any answer.
        let proxy_close = Evidence {
            last_error: Some("Disconnected while requesting ApiVersion: might be caused by incorrect security.protocol configuration".into()),
            ..Evidence::default()
        };
        assert_eq!(judge(&proxy_close, false, BOUND), None, "keeps waiting");
        assert!(matches!(
            outcome(&proxy_close),
            Some(LoginOutcome::ClosedWithoutAnswer(_))
        ));
        let refused = Evidence {
            last_error: Some("Connect to ipv4#127.0.0.1:1 failed: Connection refused".into()),
            ..Evidence::default()
        };
        assert!(matches!(
            outcome(&refused),
            Some(LoginOutcome::ClosedWithoutAnswer(_))
        ));
        // Answered but never closed nor served: a timeout.
        let silent = Evidence {
            responses: 1,
            ..Evidence::default()
        };
        assert!(matches!(
            outcome(&silent),
            Some(LoginOutcome::Inconclusive(_))
        ));
        assert!(matches!(
            outcome(&Evidence::default()),
            Some(LoginOutcome::Inconclusive(_))
        ));
    }

    #[test]
    fn a_port_that_accepts_and_closes_is_not_a_refusing_broker() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            // Accept and close at once, without a byte of Kafka: a proxy with no backend.
            for stream in listener.incoming() {
                drop(stream);
            }
        });
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", format!("127.0.0.1:{port}"))
            .set("security.protocol", "PLAINTEXT")
            .set("reconnect.backoff.max.ms", "200");
        let got = login_blocking(cfg, Duration::from_secs(3));
        assert!(
            matches!(got, LoginOutcome::ClosedWithoutAnswer(_)),
            "{got:?}"
        );
    }
}
