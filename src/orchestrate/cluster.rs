//! The Kafka nodes as `up` and the lifecycle commands see them: `kafka` names every node, and a
//! change of `kafka.brokers` on an existing stack is refused rather than half-done.

use crate::compose::Stack;
use crate::engine::containers::ProjectContainer;
use crate::settings::{NODE_COUNTS, ServiceKind, node_service};

/// `names` with `kafka` replaced by every Kafka node's service (when the stack has several).
pub fn expand_names(stack: &Stack, names: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        if name == ServiceKind::Kafka.name() && stack.service(name).is_none() {
            out.extend(
                stack
                    .services_of(ServiceKind::Kafka)
                    .iter()
                    .map(|s| s.name.clone()),
            );
        } else {
            out.push(name.clone());
        }
    }
    out
}

/// When `existing` holds Kafka node containers of another node count than `stack`: the reason,
/// with the command that works. The nodes' volumes hold a cluster of the old shape (its voters,
/// its replicas), so a node count change is a new cluster.
pub fn node_count_change(stack: &Stack, existing: &[ProjectContainer]) -> Option<String> {
    let wanted: Vec<&str> = stack
        .services_of(ServiceKind::Kafka)
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    if wanted.is_empty() {
        return None;
    }
    let all_node_names: Vec<String> = NODE_COUNTS
        .iter()
        .flat_map(|&count| (0..count).map(move |i| node_service(i, count)))
        .collect();
    let stale: Vec<&str> = existing
        .iter()
        .map(|c| c.service.as_str())
        .filter(|s| all_node_names.iter().any(|n| n == s) && !wanted.contains(s))
        .collect();
    if stale.is_empty() {
        return None;
    }
    let had = existing
        .iter()
        .filter(|c| all_node_names.contains(&c.service))
        .count();
    Some(format!(
        "kafka.brokers is {} but this stack runs {had} Kafka node(s) ({}); a KRaft cluster cannot change its node count in place here (each node's volume holds the old quorum and replicas). Run `stackctl down --volumes` (this deletes the stack's data) and then `stackctl up`",
        wanted.len(),
        stale.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(service: &str) -> ProjectContainer {
        ProjectContainer {
            id: format!("id-{service}"),
            name: format!("p-{service}"),
            service: service.into(),
            hash: String::new(),
            phase: None,
            state: "running".into(),
            health: None,
            ports: Vec::new(),
        }
    }

    fn stack(brokers: u16) -> Stack {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut settings = crate::settings::Settings::load(root).expect("settings");
        settings.kafka.brokers = brokers;
        settings.replication_factor = brokers;
        crate::compose::load(root, &settings, crate::settings::Phase::Authorization)
            .expect("compose")
    }

    #[test]
    fn kafka_names_every_node() {
        let three = stack(3);
        assert_eq!(
            expand_names(&three, &["kafka".into(), "connect".into()]),
            ["kafka-1", "kafka-2", "kafka-3", "connect"]
        );
        assert_eq!(expand_names(&stack(1), &["kafka".into()]), ["kafka"]);
    }

    #[test]
    fn a_node_count_change_is_refused_with_the_command_that_works() {
        let one_node = [container("kafka"), container("connect")];
        let why = node_count_change(&stack(3), &one_node).expect("refused");
        assert!(why.contains("stackctl down --volumes"), "{why}");
        assert!(why.contains("kafka.brokers is 3"), "{why}");
        let three_nodes: Vec<ProjectContainer> =
            ["kafka-1", "kafka-2", "kafka-3"].map(container).into();
        assert!(node_count_change(&stack(1), &three_nodes).is_some());
        assert_eq!(node_count_change(&stack(3), &three_nodes), None);
        assert_eq!(node_count_change(&stack(1), &one_node), None);
    }
}
