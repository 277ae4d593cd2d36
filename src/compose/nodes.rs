//! One Kafka service per node, generated from the compose file's one `kafka` definition: each
//! node gets its name (`kafka-1`…), its index (which selects its per-node rendered files), its
//! own volume and its own published port; services that depend on `kafka` depend on every node.
//! At one node the service keeps its name, volume and port.

use super::{Service, Stack};
use crate::settings::{ServiceKind, Settings};

/// Replaces the `kafka` service of `stack` by one service per node of `settings`.
pub fn expand_kafka(mut stack: Stack, settings: &Settings) -> Stack {
    let kafka = ServiceKind::Kafka.name();
    let Some(at) = stack.services.iter().position(|s| s.name == kafka) else {
        return stack;
    };
    let template = stack.services.remove(at);
    let nodes = settings.kafka_nodes();
    let single = nodes.len() == 1;
    let external = settings.kafka.listeners.external;
    let generated: Vec<Service> = nodes
        .iter()
        .map(|node| {
            let mut s = template.clone();
            s.name.clone_from(&node.service);
            s.node = Some(node.index);
            for port in &mut s.ports {
                if port.container_port == external {
                    port.host_port = node.host_port;
                }
            }
            for v in &mut s.volumes {
                v.volume = node.volume(&v.volume, single);
            }
            s
        })
        .collect();
    let names: Vec<String> = generated.iter().map(|s| s.name.clone()).collect();
    for s in &mut stack.services {
        if s.depends_on.iter().any(|d| d == kafka) {
            s.depends_on.retain(|d| d != kafka);
            s.depends_on.extend(names.iter().cloned());
        }
    }
    let own: Vec<String> = template.volumes.iter().map(|v| v.volume.clone()).collect();
    stack.volumes.retain(|v| !own.contains(v));
    for s in &generated {
        stack
            .volumes
            .extend(s.volumes.iter().map(|v| v.volume.clone()));
    }
    stack.volumes.sort();
    stack.volumes.dedup();
    for (i, s) in generated.into_iter().enumerate() {
        stack.services.insert(at + i, s);
    }
    stack
}

/// The services that make up `kind`: every node for Kafka, else the one service of that name.
pub fn services_of(stack: &Stack, kind: ServiceKind) -> Vec<&Service> {
    stack
        .services
        .iter()
        .filter(|s| match kind {
            ServiceKind::Kafka => s.node.is_some(),
            _ => s.name == kind.name(),
        })
        .collect()
}
