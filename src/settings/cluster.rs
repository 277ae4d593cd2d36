//! The Kafka cluster the settings describe: `kafka.brokers` KRaft nodes (each a combined
//! broker+controller) made from the one `kafka` definition, and the replication every topic gets.
//!
//! Node `i` (0-based) has id `kafka.node_id + i`, its own service (`kafka` when there is one node,
//! `kafka-1`…`kafka-N` otherwise), its own volume, and publishes its external listener on
//! `kafka.host_port + i` (advertised as `localhost:<that port>`). The quorum is static
//! (`controller.quorum.voters`): membership is fixed by the settings, and a static quorum is
//! formatted without directory ids, so every node starts the same way.

use serde::Serialize;

use super::{ServiceKind, Settings};

/// The node counts stackctl runs: one node, or a three-node quorum (two would not survive the
/// loss of either node; five do not fit the machine the stack is sized for).
pub const NODE_COUNTS: [u16; 2] = [1, 3];

/// One Kafka node, as the compose model, the templates and the clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KafkaNode {
    /// 0-based position in the cluster.
    pub index: u16,
    /// `node.id`.
    pub id: u32,
    /// The compose service (and in-network host name) of this node.
    pub service: String,
    /// The host port its external listener is published on.
    pub host_port: u16,
}

impl KafkaNode {
    /// The node's volume, from the compose file's volume name: `kafka-data` for a single node,
    /// `kafka-1-data` … otherwise (never the same name at two node counts, see `up`).
    pub fn volume(&self, volume: &str, single: bool) -> String {
        if single {
            volume.to_string()
        } else {
            volume.replacen(ServiceKind::Kafka.name(), &self.service, 1)
        }
    }
}

/// The compose service of node `index` in a cluster of `count` nodes.
pub fn node_service(index: u16, count: u16) -> String {
    let kafka = ServiceKind::Kafka.name();
    if count <= 1 {
        kafka.to_string()
    } else {
        format!("{kafka}-{}", index + 1)
    }
}

impl Settings {
    /// Every Kafka node, in node-id order.
    pub fn kafka_nodes(&self) -> Vec<KafkaNode> {
        let k = &self.kafka;
        (0..k.brokers.max(1))
            .map(|index| KafkaNode {
                index,
                id: k.node_id + u32::from(index),
                service: node_service(index, k.brokers),
                host_port: k.host_port.saturating_add(index),
            })
            .collect()
    }

    /// `bootstrap.servers` for clients inside the stack's network: every node's internal listener.
    pub fn kafka_internal_bootstrap(&self) -> String {
        let port = self.kafka.listeners.internal;
        self.kafka_nodes()
            .iter()
            .map(|n| format!("{}:{port}", n.service))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `bootstrap.servers` for clients on the host: every node's published port.
    pub fn kafka_external_bootstrap(&self) -> String {
        self.kafka_nodes()
            .iter()
            .map(|n| format!("localhost:{}", n.host_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The settings of the service a container runs (a Kafka node's are `services.kafka`).
    pub fn service_settings(&self, service: &str) -> Option<&super::Service> {
        let kafka = ServiceKind::Kafka.name();
        let is_node = self.kafka_nodes().iter().any(|n| n.service == service);
        self.services.get(if is_node { kafka } else { service })
    }

    /// [`Settings::published_ports`] by the compose service that publishes each: every Kafka
    /// node its own port.
    pub fn published_ports_by_service(&self) -> Vec<(String, u16, u16)> {
        let nodes = self.kafka_nodes();
        let mut kafka = nodes.iter();
        self.published_ports()
            .into_iter()
            .map(|(kind, host, container)| {
                let name = match kind {
                    ServiceKind::Kafka => kafka
                        .next()
                        .map_or_else(|| kind.name().to_string(), |n| n.service.clone()),
                    _ => kind.name().to_string(),
                };
                (name, host, container)
            })
            .collect()
    }

    /// `controller.quorum.voters`: `id@service:controller-port` for every node.
    pub fn kafka_quorum_voters(&self) -> String {
        let port = self.kafka.listeners.controller;
        self.kafka_nodes()
            .iter()
            .map(|n| format!("{}@{}:{port}", n.id, n.service))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Node count, replication factor and min ISR: the combinations that can work.
    pub(super) fn validate_cluster(&self) -> Result<(), (&'static str, String)> {
        let brokers = self.kafka.brokers;
        if !NODE_COUNTS.contains(&brokers) {
            return Err((
                "kafka.brokers",
                format!(
                    "is {brokers}; stackctl runs 1 node or a 3-node KRaft quorum (an even count survives no more failures than one node less)"
                ),
            ));
        }
        let rf = self.replication_factor;
        if rf == 0 || rf > brokers {
            return Err((
                "replication_factor",
                format!("is {rf}, but must be between 1 and kafka.brokers ({brokers})"),
            ));
        }
        let isr = self.min_insync_replicas;
        if isr == 0 || isr > rf {
            return Err((
                "min_insync_replicas",
                format!("is {isr}, but must be between 1 and replication_factor ({rf})"),
            ));
        }
        if rf > 1 && isr == rf {
            return Err((
                "min_insync_replicas",
                format!(
                    "is {isr}, equal to replication_factor: one node down would stop every producer using acks=all; use {}",
                    rf - 1
                ),
            ));
        }
        let last = u32::from(self.kafka.host_port) + u32::from(brokers) - 1;
        if last > u32::from(u16::MAX) {
            return Err((
                "kafka.host_port",
                format!(
                    "is {}; node i publishes on kafka.host_port + i, and {last} is not a port",
                    self.kafka.host_port
                ),
            ));
        }
        self.validate_host_ports()
    }

    /// No two published ports share a host port (the Kafka nodes' included).
    fn validate_host_ports(&self) -> Result<(), (&'static str, String)> {
        let ports = self.published_ports();
        for (i, (service, port, _)) in ports.iter().enumerate() {
            if let Some((other, _, _)) = ports[..i].iter().find(|(_, p, _)| p == port) {
                return Err((
                    service.host_port_setting(),
                    format!(
                        "publishes host port {port}, which {other} already publishes (Kafka node i uses kafka.host_port + i)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::settings::SETTINGS_FILE;

    fn settings(edit: impl Fn(String) -> String) -> Result<Settings, String> {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SETTINGS_FILE))
                .expect("repo settings");
        Settings::parse(&edit(text), Path::new("stack.yaml")).map_err(|e| e.to_string())
    }

    #[allow(
        clippy::needless_pass_by_value,
        reason = "an edit for settings(), which takes Fn(String) -> String"
    )]
    fn three(text: String) -> String {
        text.replace("brokers: 1", "brokers: 3")
            .replace("replication_factor: 1", "replication_factor: 3")
            .replace("min_insync_replicas: 1", "min_insync_replicas: 2")
    }

    #[test]
    fn one_node_is_the_default_and_keeps_its_names() {
        let s = settings(|t| t).expect("valid");
        let nodes = s.kafka_nodes();
        assert_eq!(nodes.len(), 1);
        assert_eq!((nodes[0].id, nodes[0].service.as_str()), (1, "kafka"));
        assert_eq!(nodes[0].volume("kafka-data", true), "kafka-data");
        assert_eq!(s.kafka_internal_bootstrap(), "kafka:9092");
        assert_eq!(s.kafka_external_bootstrap(), "localhost:19092");
        assert_eq!(s.kafka_quorum_voters(), "1@kafka:9093");
    }

    #[test]
    fn three_nodes_get_ids_services_ports_and_volumes_from_one_definition() {
        let s = settings(three).expect("valid");
        let nodes = s.kafka_nodes();
        let got: Vec<(u32, &str, u16, String)> = nodes
            .iter()
            .map(|n| {
                (
                    n.id,
                    n.service.as_str(),
                    n.host_port,
                    n.volume("kafka-data", false),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (1, "kafka-1", 19092, "kafka-1-data".to_string()),
                (2, "kafka-2", 19093, "kafka-2-data".to_string()),
                (3, "kafka-3", 19094, "kafka-3-data".to_string()),
            ]
        );
        assert_eq!(
            s.kafka_internal_bootstrap(),
            "kafka-1:9092,kafka-2:9092,kafka-3:9092"
        );
        assert_eq!(
            s.kafka_external_bootstrap(),
            "localhost:19092,localhost:19093,localhost:19094"
        );
        assert_eq!(
            s.kafka_quorum_voters(),
            "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
        );
    }

    #[test]
    fn impossible_combinations_name_their_setting() {
        type Edit = fn(String) -> String;
        let cases: [(&str, Edit); 6] = [
            ("kafka.brokers", |t| t.replace("brokers: 1", "brokers: 2")),
            ("replication_factor", |t| {
                t.replace("replication_factor: 1", "replication_factor: 3")
            }),
            ("replication_factor", |t| {
                t.replace("replication_factor: 1", "replication_factor: 0")
            }),
            ("min_insync_replicas", |t| {
                t.replace("min_insync_replicas: 1", "min_insync_replicas: 2")
            }),
            ("min_insync_replicas", |t| {
                three(t).replace("min_insync_replicas: 2", "min_insync_replicas: 3")
            }),
            ("schema_registry.host_port", |t| {
                three(t).replace("host_port: 18081", "host_port: 19093")
            }),
        ];
        for (setting, edit) in cases {
            let err = settings(edit).expect_err(setting);
            assert!(err.contains(&format!("`{setting}`")), "{setting}: {err}");
        }
    }
}
