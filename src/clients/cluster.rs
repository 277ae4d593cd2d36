//! The cluster as Kafka's metadata describes it: each partition's leader, replicas and in-sync
//! replicas (what `verify` and the rolling operations wait on).

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};

use super::Login;
use super::kafka::{Collected, Kafka, Security};

/// One partition as the metadata reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    pub topic: String,
    pub partition: i32,
    /// -1: no leader (the partition is offline).
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

impl PartitionState {
    pub fn offline(&self) -> bool {
        self.leader < 0
    }

    /// Fewer replicas in sync than assigned.
    pub fn under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }
}

/// Partitions that are offline or under-replicated, one line each (empty: all healthy).
pub fn unhealthy(partitions: &[PartitionState]) -> Vec<String> {
    partitions
        .iter()
        .filter(|p| p.offline() || p.under_replicated())
        .map(|p| {
            format!(
                "{}-{}: leader {}, replicas {:?}, in sync {:?}",
                p.topic, p.partition, p.leader, p.replicas, p.isr
            )
        })
        .collect()
}

impl Kafka {
    /// Every partition of every topic `login` may describe, internal topics included.
    pub async fn partitions(
        &self,
        login: &Login,
        bound: Duration,
    ) -> Result<Vec<PartitionState>, String> {
        let cfg = self.config(&Security::Sasl(login.clone()));
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer<Collected> = cfg
                .create_with_context(Collected::default())
                .map_err(|e| e.to_string())?;
            let metadata = consumer
                .fetch_metadata(None, bound)
                .map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            for topic in metadata.topics() {
                if let Some(err) = topic.error() {
                    return Err(format!("topic {}: {err:?}", topic.name()));
                }
                for p in topic.partitions() {
                    out.push(PartitionState {
                        topic: topic.name().to_string(),
                        partition: p.id(),
                        leader: p.leader(),
                        replicas: p.replicas().to_vec(),
                        isr: p.isr().to_vec(),
                    });
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(leader: i32, replicas: &[i32], isr: &[i32]) -> PartitionState {
        PartitionState {
            topic: "events".into(),
            partition: 0,
            leader,
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
        }
    }

    #[test]
    fn offline_and_under_replicated_partitions_are_named() {
        assert!(unhealthy(&[p(1, &[1, 2, 3], &[1, 2, 3])]).is_empty());
        assert_eq!(
            unhealthy(&[p(1, &[1, 2, 3], &[1, 3]), p(-1, &[2], &[])]),
            [
                "events-0: leader 1, replicas [1, 2, 3], in sync [1, 3]",
                "events-0: leader -1, replicas [2], in sync []"
            ]
        );
    }
}
