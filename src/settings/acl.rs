//! Kafka ACLs as code: each principal's grants, declared once in `configs/stack.yaml` under
//! `kafka.acls.<role>`, expanded into the exact bindings the broker must hold (one per
//! operation, `User:<name>`, any host, ALLOW). Nothing else grants anything.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{KafkaRole, Settings};

/// The kind of resource a grant is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    Topic,
    Group,
    Cluster,
    TransactionalId,
}

/// How the resource name matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternType {
    Literal,
    Prefixed,
}

/// An operation a grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    All,
    Read,
    Write,
    Create,
    Delete,
    Alter,
    Describe,
    ClusterAction,
    DescribeConfigs,
    AlterConfigs,
    IdempotentWrite,
}

/// One grant as written in the settings: a resource and the operations on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub resource: ResourceType,
    /// The resource name (`kafka-cluster` for the cluster).
    pub name: String,
    #[serde(default = "literal")]
    pub pattern: PatternType,
    pub operations: Vec<Operation>,
    /// Why the principal needs it (documentation; shown by `stackctl config`).
    #[serde(default)]
    pub why: String,
}

fn literal() -> PatternType {
    PatternType::Literal
}

/// Grants per Kafka role. `admin` has none: it is the super user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaAcls {
    #[serde(default)]
    pub schema_registry: Vec<Grant>,
    #[serde(default)]
    pub connect: Vec<Grant>,
    #[serde(default)]
    pub app: Vec<Grant>,
}

impl KafkaAcls {
    /// The grants of `role` (none for admin) and the setting that holds them.
    pub fn of(&self, role: KafkaRole) -> (&[Grant], &'static str) {
        match role {
            KafkaRole::Admin => (&[], "kafka.acls.admin"),
            KafkaRole::SchemaRegistry => (&self.schema_registry, "kafka.acls.schema_registry"),
            KafkaRole::Connect => (&self.connect, "kafka.acls.connect"),
            KafkaRole::App => (&self.app, "kafka.acls.app"),
        }
    }
}

/// One binding exactly as the broker holds it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AclBinding {
    pub principal: String,
    pub resource: ResourceType,
    pub name: String,
    pub pattern: PatternType,
    pub operation: Operation,
    pub host: String,
    /// ALLOW (true) or DENY (false).
    pub allow: bool,
}

impl fmt::Display for AclBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {:?} on {:?}:{}{} from {}",
            self.principal,
            if self.allow { "ALLOW" } else { "DENY" },
            self.operation,
            self.resource,
            self.name,
            if self.pattern == PatternType::Prefixed {
                "*"
            } else {
                ""
            },
            self.host
        )
    }
}

/// The name of the cluster resource, as Kafka spells it.
pub const CLUSTER_RESOURCE: &str = "kafka-cluster";

impl Settings {
    /// Every binding the settings declare, without repeats, in a stable order.
    pub fn declared_acls(&self) -> BTreeSet<AclBinding> {
        let mut out = BTreeSet::new();
        for role in KafkaRole::ALL {
            let principal = format!("User:{}", self.kafka_principal(role).user());
            for grant in self.kafka.acls.of(role).0 {
                for op in &grant.operations {
                    out.insert(AclBinding {
                        principal: principal.clone(),
                        resource: grant.resource,
                        name: grant.name.clone(),
                        pattern: grant.pattern,
                        operation: *op,
                        host: "*".into(),
                        allow: true,
                    });
                }
            }
        }
        out
    }

    /// Problems with the declared grants: names of topics or groups stackctl does not know,
    /// a cluster grant on another name, an empty operation list.
    pub(super) fn acl_problems(&self) -> Option<(String, String)> {
        let topics = self.known_topics();
        for role in KafkaRole::ALL {
            let (grants, setting) = self.kafka.acls.of(role);
            for (i, g) in grants.iter().enumerate() {
                let at = format!("{setting}[{i}]");
                if g.operations.is_empty() {
                    return Some((at, "lists no operations".into()));
                }
                match (g.resource, g.pattern) {
                    (ResourceType::Cluster, _) if g.name != CLUSTER_RESOURCE => {
                        return Some((
                            at,
                            format!("names the cluster `{}`; write `{CLUSTER_RESOURCE}`", g.name),
                        ));
                    }
                    (ResourceType::Topic, PatternType::Literal)
                        if !topics.iter().any(|t| t == &g.name) =>
                    {
                        return Some((
                            at,
                            format!(
                                "grants on topic `{}`, which stackctl does not create; known topics: {}",
                                g.name,
                                topics.join(", ")
                            ),
                        ));
                    }
                    _ if g.name.is_empty() => return Some((at, "has an empty name".into())),
                    _ => {}
                }
            }
        }
        None
    }

    /// Every topic the settings name (data, dead letters, Connect's and the registry's).
    pub fn known_topics(&self) -> Vec<String> {
        let c = &self.connect.topics;
        let s = &self.schema_registry.topics;
        [
            &self.pipeline.topic,
            &c.configs,
            &c.offsets,
            &c.status,
            &s.journal,
            &s.snapshots,
            &s.events,
        ]
        .into_iter()
        .cloned()
        .collect()
    }
}
