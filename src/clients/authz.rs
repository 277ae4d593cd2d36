//! Probes of what a principal may do in Kafka, for the negative checks of phase 5: each returns
//! the broker's own answer, so a check can pass only on the expected authorization error and
//! never on a timeout. Probes are shaped to do no harm when access is (wrongly) granted: a
//! tombstone for a key nobody uses, a read that commits nothing, a topic made for the probe.

use std::time::{Duration, Instant};

use rdkafka::Offset;
use rdkafka::TopicPartitionList;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use super::Login;
use super::kafka::{Collected, Kafka, Security};

/// What the broker did with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// Refused with this error code.
    Refused(RDKafkaErrorCode),
    /// No verdict within the bound, or a failure that is not the broker's answer.
    Inconclusive(String),
}

impl Access {
    fn of_error(e: &KafkaError) -> Access {
        match e.rdkafka_error_code() {
            Some(code) => Access::Refused(code),
            None => Access::Inconclusive(e.to_string()),
        }
    }
}

/// The bound of one probe.
const PROBE: Duration = Duration::from_secs(8);

impl Kafka {
    /// Produces a tombstone for the key `stackctl-verify-probe` to `topic` as `login`.
    pub async fn probe_produce(&self, login: &Login, topic: &str) -> Access {
        let mut cfg = self.config(&Security::Sasl(login.clone()));
        cfg.set("message.timeout.ms", PROBE.as_millis().to_string());
        let producer: FutureProducer<Collected> =
            match cfg.create_with_context(Collected::default()) {
                Ok(p) => p,
                Err(e) => return Access::Inconclusive(e.to_string()),
            };
        let record = FutureRecord::<str, ()>::to(topic).key("stackctl-verify-probe");
        match producer.send(record, Timeout::After(PROBE)).await {
            Ok(_) => Access::Allowed,
            Err((e, _)) => Access::of_error(&e),
        }
    }

    /// Reads partition 0 of `topic` from the start as `login`. `group` must be one the principal
    /// may use (librdkafka needs one even for a manual assignment): the partition is assigned, not
    /// subscribed, so the group is never joined, and nothing is committed — only the topic's
    /// authorization is in play.
    pub async fn probe_read(&self, login: &Login, topic: &str, group: &str) -> Access {
        let mut cfg = self.config(&Security::Sasl(login.clone()));
        cfg.set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "true");
        let topic = topic.to_string();
        run_blocking(move || {
            let consumer: BaseConsumer<Collected> = cfg
                .create_with_context(Collected::default())
                .map_err(|e| e.to_string())?;
            // The broker hides a topic the principal may not even describe: its metadata carries
            // the authorization error, and librdkafka would wait on the assignment in silence.
            let metadata = consumer
                .fetch_metadata(Some(&topic), PROBE)
                .map_err(|e| e.to_string())?;
            if let Some(err) = metadata
                .topics()
                .first()
                .and_then(rdkafka::metadata::MetadataTopic::error)
            {
                return Ok(Access::Refused(RDKafkaErrorCode::from(err)));
            }
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&topic, 0, Offset::Beginning)
                .map_err(|e| e.to_string())?;
            consumer.assign(&tpl).map_err(|e| e.to_string())?;
            Ok(poll_verdict(&consumer))
        })
        .await
    }

    /// Joins `group` (another principal's) subscribed to `topic` as `login`.
    pub async fn probe_join(&self, login: &Login, topic: &str, group: &str) -> Access {
        let mut cfg = self.config(&Security::Sasl(login.clone()));
        cfg.set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true");
        let topic = topic.to_string();
        run_blocking(move || {
            let consumer: BaseConsumer<Collected> = cfg
                .create_with_context(Collected::default())
                .map_err(|e| e.to_string())?;
            consumer.subscribe(&[&topic]).map_err(|e| e.to_string())?;
            let verdict = poll_verdict(&consumer);
            consumer.unsubscribe();
            Ok(verdict)
        })
        .await
    }

    /// Creates the topic `name` (one partition) as `login`. Whoever calls it removes the topic
    /// again when it was allowed.
    pub async fn probe_create_topic(&self, login: &Login, name: &str) -> Access {
        let admin = match self.admin(login) {
            Ok(a) => a,
            Err(e) => return Access::Inconclusive(e.to_string()),
        };
        let topic = NewTopic::new(name, 1, TopicReplication::Fixed(1));
        let options = AdminOptions::new().operation_timeout(Some(Timeout::After(PROBE)));
        match tokio::time::timeout(PROBE + PROBE, admin.create_topics([&topic], &options)).await {
            Err(_) => {
                Access::Inconclusive(format!("no answer within {} s", (PROBE + PROBE).as_secs()))
            }
            Ok(Err(e)) => Access::of_error(&e),
            Ok(Ok(results)) => match results.into_iter().next() {
                Some(Ok(_)) => Access::Allowed,
                Some(Err((_, code))) => Access::Refused(code),
                None => Access::Inconclusive("no result for the topic".into()),
            },
        }
    }

    /// Deletes the topic `name` as `login`.
    pub async fn probe_delete_topic(&self, login: &Login, name: &str) -> Access {
        let admin = match self.admin(login) {
            Ok(a) => a,
            Err(e) => return Access::Inconclusive(e.to_string()),
        };
        let options = AdminOptions::new().operation_timeout(Some(Timeout::After(PROBE)));
        match tokio::time::timeout(PROBE + PROBE, admin.delete_topics(&[name], &options)).await {
            Err(_) => {
                Access::Inconclusive(format!("no answer within {} s", (PROBE + PROBE).as_secs()))
            }
            Ok(Err(e)) => Access::of_error(&e),
            Ok(Ok(results)) => match results.into_iter().next() {
                Some(Ok(_)) => Access::Allowed,
                Some(Err((_, code))) => Access::Refused(code),
                None => Access::Inconclusive("no result for the topic".into()),
            },
        }
    }
}

/// Polls until a record or the partition end (allowed), an error (refused), or the bound.
fn poll_verdict(consumer: &BaseConsumer<Collected>) -> Access {
    let deadline = Instant::now() + PROBE;
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(_) | Err(KafkaError::PartitionEOF(_))) => return Access::Allowed,
            Some(Err(e)) => return Access::of_error(&e),
            None => {}
        }
    }
    Access::Inconclusive(format!(
        "neither data nor a refusal within {} s",
        PROBE.as_secs()
    ))
}

async fn run_blocking(work: impl FnOnce() -> Result<Access, String> + Send + 'static) -> Access {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(access)) => access,
        Ok(Err(e)) => Access::Inconclusive(e),
        Err(e) => Access::Inconclusive(format!("probe task failed: {e}")),
    }
}
