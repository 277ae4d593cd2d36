//! Reading records back with their headers, from known offsets (no consumer group): how `verify`
//! finds what the sink sent to the dead-letter topic, and how `status` counts it.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::Login;
use super::kafka::{Collected, Kafka, Security};

/// A record as read back: its value and headers as text (lossy UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub partition: i32,
    pub offset: i64,
    pub value: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl Received {
    /// The value of the first header named `key`.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl Kafka {
    /// The high watermark (next offset) of each partition of `topic`.
    pub async fn watermarks(&self, login: &Login, topic: &str) -> Result<Vec<(i32, i64)>, String> {
        let cfg = self.config(&Security::Sasl(login.clone()));
        let topic = topic.to_string();
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer<Collected> = cfg
                .create_with_context(Collected::default())
                .map_err(|e| e.to_string())?;
            let metadata = consumer
                .fetch_metadata(Some(&topic), Duration::from_secs(10))
                .map_err(|e| e.to_string())?;
            let Some(t) = metadata.topics().first() else {
                return Err(format!("no metadata for topic {topic}"));
            };
            if let Some(e) = t.error() {
                return Err(format!(
                    "topic {topic}: {:?}",
                    rdkafka::error::RDKafkaErrorCode::from(e)
                ));
            }
            t.partitions()
                .iter()
                .map(|p| {
                    consumer
                        .fetch_watermarks(&topic, p.id(), Duration::from_secs(10))
                        .map(|(_, high)| (p.id(), high))
                        .map_err(|e| e.to_string())
                })
                .collect()
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Reads `topic` from `start` (partition, offset) until `enough` says so for the records
    /// read so far, or `bound` passes; returns what was read. Assigned, not subscribed: no group.
    pub async fn read_from(
        &self,
        login: &Login,
        topic: &str,
        start: &[(i32, i64)],
        enough: impl Fn(&[Received]) -> bool + Send + 'static,
        bound: Duration,
    ) -> Result<Vec<Received>, String> {
        let mut cfg = self.config(&Security::Sasl(login.clone()));
        cfg.set("group.id", "stackctl-unused")
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "100");
        let mut assignment = TopicPartitionList::new();
        for (partition, offset) in start {
            assignment
                .add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .map_err(|e| e.to_string())?;
        }
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer<Collected> = cfg
                .create_with_context(Collected::default())
                .map_err(|e| e.to_string())?;
            consumer.assign(&assignment).map_err(|e| e.to_string())?;
            let deadline = Instant::now() + bound;
            let mut read = Vec::new();
            while !enough(&read) && Instant::now() < deadline {
                let Some(message) = consumer.poll(Duration::from_millis(100)) else {
                    continue;
                };
                let message = message.map_err(|e| e.to_string())?;
                let headers = message
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| {
                                let value =
                                    h.value.map(String::from_utf8_lossy).unwrap_or_default();
                                (h.key.to_string(), value.into_owned())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                read.push(Received {
                    partition: message.partition(),
                    offset: message.offset(),
                    value: message
                        .payload()
                        .map(|p| String::from_utf8_lossy(p).into_owned()),
                    headers,
                });
            }
            Ok(read)
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

impl Kafka {
    /// A client configuration logged in as `login`, for callers that build their own client
    /// (`bench`'s producer).
    pub fn client_config(&self, login: &Login) -> rdkafka::ClientConfig {
        self.config(&Security::Sasl(login.clone()))
    }
}
