//! Kafka through librdkafka (rdkafka): login probes that recognise the broker's actual refusal,
//! explicit topic creation, topic configs, and produce/consume for the round-trip checks.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, ProducerContext};
use rdkafka::util::Timeout;

use super::Login;

/// How a client presents itself to the broker.
#[derive(Debug, Clone)]
pub enum Security {
    Sasl(Login),
    /// No SASL at all: what a misconfigured client does.
    Plaintext,
}

/// A Kafka call that failed, with the error code librdkafka or the broker gave (None when the
/// failure has none, e.g. a client that could not be created). Verdicts match `code`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{call}: {message}")]
pub struct KafkaCallError {
    pub call: String,
    pub code: Option<RDKafkaErrorCode>,
    pub message: String,
}

impl KafkaCallError {
    /// A failure without a service code (a local bound, a client that could not be made).
    pub fn local(call: impl Into<String>, message: impl Into<String>) -> KafkaCallError {
        KafkaCallError {
            call: call.into(),
            code: None,
            message: message.into(),
        }
    }

    pub fn new(call: impl Into<String>, error: &KafkaError) -> KafkaCallError {
        KafkaCallError {
            call: call.into(),
            code: error.rdkafka_error_code(),
            message: error.to_string(),
        }
    }
}

/// (error code, reason) pairs, in the order librdkafka reported them.
pub type ErrorLog = Vec<(Option<RDKafkaErrorCode>, String)>;

/// Errors librdkafka reported through the client context.
#[derive(Clone, Default)]
pub struct Collected {
    errors: Arc<Mutex<ErrorLog>>,
}

impl Collected {
    pub fn snapshot(&self) -> ErrorLog {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl ClientContext for Collected {
    fn error(&self, error: KafkaError, reason: &str) {
        if let Ok(mut errors) = self.errors.lock() {
            errors.push((error.rdkafka_error_code(), reason.to_string()));
        }
    }

    // Log lines are collected with the errors (librdkafka reports some transport failures only
    // there) and judged by the caller instead of going to stderr.
    fn log(&self, _level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        if let Ok(mut errors) = self.errors.lock() {
            errors.push((None, format!("{fac}: {message}")));
        }
    }
}

impl ConsumerContext for Collected {}

impl ProducerContext for Collected {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, (): Self::DeliveryOpaque) {}
}

/// How a login attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Metadata was fetched: the broker accepted the client.
    Accepted,
    /// The broker answered the SASL handshake with an authentication failure.
    AuthenticationFailed(String),
    /// The broker answered (ApiVersions) and then closed the connection before serving
    /// metadata: what a SASL listener does to a client that does not speak SASL.
    DisconnectedDuringHandshake(String),
    /// Connections failed or closed before anything answered a Kafka request: no broker was
    /// heard (e.g. Docker's port proxy with nothing listening behind it). Never a refusal.
    ClosedWithoutAnswer(String),
    /// Nothing conclusive within the time bound.
    Inconclusive(String),
}

/// Awaits an admin call within `secs`, naming `what` when it times out.
async fn bounded<T>(
    secs: u64,
    what: &str,
    call: impl std::future::Future<Output = Result<T, KafkaError>>,
) -> Result<T, KafkaCallError> {
    tokio::time::timeout(Duration::from_secs(secs), call)
        .await
        .map_err(|_| KafkaCallError::local(what, format!("no answer within {secs} s")))?
        .map_err(|e| KafkaCallError::new(what, &e))
}

#[derive(Debug, Clone)]
pub struct Kafka {
    pub bootstrap: String,
}

/// Topic to create explicitly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication: i32,
    /// `min.insync.replicas` set on the topic.
    pub min_insync_replicas: u16,
    pub compacted: bool,
}

impl Kafka {
    pub fn new(bootstrap: impl Into<String>) -> Kafka {
        Kafka {
            bootstrap: bootstrap.into(),
        }
    }

    pub(super) fn config(&self, security: &Security) -> ClientConfig {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &self.bootstrap)
            .set("socket.connection.setup.timeout.ms", "5000")
            .set("reconnect.backoff.max.ms", "1000");
        match security {
            Security::Sasl(login) => {
                cfg.set("security.protocol", "SASL_PLAINTEXT")
                    .set("sasl.mechanism", "PLAIN")
                    .set("sasl.username", &login.user)
                    .set("sasl.password", login.password.expose());
            }
            Security::Plaintext => {
                cfg.set("security.protocol", "PLAINTEXT");
            }
        }
        cfg
    }

    /// Tries to log in and fetch metadata within `bound`, then classifies what the broker did.
    pub async fn login(&self, security: &Security, bound: Duration) -> LoginOutcome {
        let cfg = self.config(security);
        tokio::task::spawn_blocking(move || super::probe::login_blocking(cfg, bound))
            .await
            .unwrap_or_else(|e| LoginOutcome::Inconclusive(format!("probe task failed: {e}")))
    }

    pub(super) fn admin(&self, login: &Login) -> Result<AdminClient<Collected>, KafkaError> {
        self.config(&Security::Sasl(login.clone()))
            .create_with_context(Collected::default())
    }

    /// Creates topics that do not exist yet; existing ones are left alone.
    pub async fn create_topics(
        &self,
        login: &Login,
        topics: &[TopicSpec],
    ) -> Result<Vec<String>, KafkaCallError> {
        let admin = self
            .admin(login)
            .map_err(|e| KafkaCallError::new("creating an admin client", &e))?;
        let min_isr: Vec<String> = topics
            .iter()
            .map(|t| t.min_insync_replicas.to_string())
            .collect();
        let new: Vec<NewTopic> = topics
            .iter()
            .zip(&min_isr)
            .map(|(t, isr)| {
                let topic = NewTopic::new(
                    &t.name,
                    t.partitions,
                    TopicReplication::Fixed(t.replication),
                )
                .set("min.insync.replicas", isr);
                if t.compacted {
                    topic.set("cleanup.policy", "compact")
                } else {
                    topic
                }
            })
            .collect();
        let options =
            AdminOptions::new().operation_timeout(Some(Timeout::After(Duration::from_secs(15))));
        let results = bounded(
            30,
            "creating topics",
            admin.create_topics(new.iter(), &options),
        )
        .await?;
        let mut created = Vec::new();
        for result in results {
            match result {
                Ok(name) => created.push(name),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(KafkaCallError {
                        call: format!("creating topic {name}"),
                        code: Some(code),
                        message: code.to_string(),
                    });
                }
            }
        }
        Ok(created)
    }

    /// Deletes topics (used to clean up after a check that created one by accident).
    pub async fn delete_topics(
        &self,
        login: &Login,
        topics: &[&str],
    ) -> Result<(), KafkaCallError> {
        let admin = self
            .admin(login)
            .map_err(|e| KafkaCallError::new("creating an admin client", &e))?;
        let options =
            AdminOptions::new().operation_timeout(Some(Timeout::After(Duration::from_secs(10))));
        bounded(15, "deleting topics", admin.delete_topics(topics, &options)).await?;
        Ok(())
    }

    /// `cleanup.policy` of each topic (None: the topic does not exist).
    pub async fn cleanup_policies(
        &self,
        login: &Login,
        topics: &[&str],
    ) -> Result<Vec<Option<String>>, KafkaCallError> {
        let admin = self
            .admin(login)
            .map_err(|e| KafkaCallError::new("creating an admin client", &e))?;
        let specs: Vec<ResourceSpecifier> =
            topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
        let options =
            AdminOptions::new().request_timeout(Some(Timeout::After(Duration::from_secs(10))));
        let results = bounded(
            15,
            "describing topic configs",
            admin.describe_configs(specs.iter(), &options),
        )
        .await?;
        Ok(results
            .into_iter()
            .map(|r| {
                r.ok().and_then(|resource| {
                    resource
                        .entry_map()
                        .get("cleanup.policy")
                        .and_then(|e| e.value.clone())
                })
            })
            .collect())
    }

    /// Values of `keys` in the broker's effective configuration.
    pub async fn broker_config(
        &self,
        login: &Login,
        node_id: i32,
        keys: &[&str],
    ) -> Result<Vec<Option<String>>, KafkaCallError> {
        let admin = self
            .admin(login)
            .map_err(|e| KafkaCallError::new("creating an admin client", &e))?;
        let spec = [ResourceSpecifier::Broker(node_id)];
        let options =
            AdminOptions::new().request_timeout(Some(Timeout::After(Duration::from_secs(10))));
        let results = bounded(
            15,
            "describing the broker config",
            admin.describe_configs(spec.iter(), &options),
        )
        .await?;
        let resource = results
            .into_iter()
            .next()
            .ok_or_else(|| {
                KafkaCallError::local("describing the broker config", "no config returned")
            })?
            .map_err(|code| KafkaCallError {
                call: format!("describing the config of broker {node_id}"),
                code: Some(code),
                message: code.to_string(),
            })?;
        let map = resource.entry_map();
        Ok(keys
            .iter()
            .map(|k| map.get(k).and_then(|e| e.value.clone()))
            .collect())
    }

    /// Produces `values` to `topic` and waits for every acknowledgement (bounded by `bound`).
    pub async fn produce(
        &self,
        login: &Login,
        topic: &str,
        values: &[String],
        bound: Duration,
    ) -> Result<(), KafkaCallError> {
        let mut cfg = self.config(&Security::Sasl(login.clone()));
        // Every replica in sync acknowledges, and a retried send is never written twice.
        cfg.set("message.timeout.ms", bound.as_millis().to_string())
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("topic.metadata.propagation.max.ms", "2000")
            .set("linger.ms", "5");
        let producer: FutureProducer<Collected> = cfg
            .create_with_context(Collected::default())
            .map_err(|e| KafkaCallError::new("creating a producer", &e))?;
        let sends = values.iter().map(|v| {
            producer.send(
                FutureRecord::<(), String>::to(topic).payload(v),
                Timeout::After(bound),
            )
        });
        for result in futures_util::future::join_all(sends).await {
            result.map_err(|(e, _)| KafkaCallError::new(format!("producing to {topic}"), &e))?;
        }
        Ok(())
    }

    /// The sum of the high watermarks of `topic`'s partitions: how many records it holds
    /// (retention aside). A topic the broker does not know is an error naming it.
    pub async fn end_offsets(&self, login: &Login, topic: &str) -> Result<i64, String> {
        Ok(self
            .watermarks(login, topic)
            .await?
            .iter()
            .map(|(_, high)| high)
            .sum())
    }

    /// Reads `topic` from the beginning with a fresh group until `matches` values were seen
    /// (or `bound` passed); returns how many matched.
    pub async fn consume_matching(
        &self,
        login: &Login,
        topic: &str,
        group: &str,
        wanted: usize,
        matches: impl Fn(&str) -> bool + Send + 'static,
        bound: Duration,
    ) -> Result<usize, String> {
        let mut cfg = self.config(&Security::Sasl(login.clone()));
        cfg.set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false");
        let topic = topic.to_string();
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer<Collected> = cfg
                .create_with_context(Collected::default())
                .map_err(|e| e.to_string())?;
            consumer.subscribe(&[&topic]).map_err(|e| e.to_string())?;
            let deadline = Instant::now() + bound;
            let mut seen = 0;
            while seen < wanted && Instant::now() < deadline {
                if let Some(message) = consumer.poll(Duration::from_millis(200)) {
                    let message = message.map_err(|e| e.to_string())?;
                    if let Some(Ok(text)) = message.payload_view::<str>()
                        && matches(text)
                    {
                        seen += 1;
                    }
                }
            }
            Ok(seen)
        })
        .await
        .map_err(|e| e.to_string())?
    }
}
