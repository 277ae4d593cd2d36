//! The stack settings (`configs/stack.yaml`): everything non-secret that templates and commands
//! read. Loaded once, validated, then passed down; nothing downstream re-reads the file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod acl;
mod cluster;
mod logging;
mod phase;
mod pipeline;
mod service;
mod validate;

pub use acl::{
    AclBinding, CLUSTER_RESOURCE, Grant, KafkaAcls, Operation, PatternType, ResourceType,
};
pub use cluster::{KafkaNode, NODE_COUNTS, node_service};
pub use logging::{LOG_DRIVERS, Logging};
pub use phase::{Capabilities, Phase, UnknownPhase};
pub use pipeline::{DriftAction, Pipeline, Sink};
pub use service::ServiceKind;

/// Where the settings live, relative to the project root.
pub const SETTINGS_FILE: &str = "configs/stack.yaml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot read the stack settings {path} (run stackctl from the project root or pass --root DIR)"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid stack settings: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: setting `{setting}` {problem}")]
    Invalid {
        path: PathBuf,
        setting: String,
        problem: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub project: String,
    /// The host address every published port binds (loopback by default).
    #[serde(default = "loopback")]
    pub publish_address: std::net::IpAddr,
    pub kafka: Kafka,
    pub schema_registry: SchemaRegistry,
    pub connect: Connect,
    pub clickhouse: ClickHouse,
    pub pipeline: Pipeline,
    pub replication_factor: u16,
    /// `min.insync.replicas` of every topic (with `acks=all`, how many replicas must hold a write).
    #[serde(default = "one")]
    pub min_insync_replicas: u16,
    pub services: BTreeMap<String, Service>,
    /// Every container's log driver and rotation (defaults when absent).
    #[serde(default)]
    pub logging: Logging,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kafka {
    pub version: String,
    pub cluster_id: String,
    pub node_id: u32,
    pub brokers: u16,
    pub listeners: KafkaListeners,
    pub host_port: u16,
    pub principals: KafkaPrincipals,
    /// The application's consumer groups start with this.
    pub app_group_prefix: String,
    /// Each principal's grants (enforced from phase 5).
    #[serde(default)]
    pub acls: KafkaAcls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaListeners {
    pub internal: u16,
    pub controller: u16,
    pub external: u16,
}

/// Kafka usernames per role. The roles are fixed by what the stack needs; the names are settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaPrincipals {
    pub admin: String,
    pub schema_registry: String,
    pub connect: String,
    pub app: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaRegistry {
    pub version: String,
    pub port: u16,
    pub host_port: u16,
    pub topics: SchemaRegistryTopics,
    /// Prefix of the Kafka consumer group the registry reads its journal with (it appends a
    /// UUID); the registry's group ACL is PREFIXED on it.
    pub group_prefix: String,
    /// The login of its REST API (enforced from phase 5).
    pub rest_user: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaRegistryTopics {
    pub journal: String,
    pub snapshots: String,
    pub events: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    pub port: u16,
    pub host_port: u16,
    pub group_id: String,
    pub topics: ConnectTopics,
    pub connector: String,
    /// The login of its REST API (enforced from phase 5).
    pub rest_user: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectTopics {
    pub configs: String,
    pub offsets: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouse {
    pub version: String,
    pub http_port: u16,
    pub native_port: u16,
    pub host_http_port: u16,
    /// Native protocol port published on the host's loopback (clickhouse-client).
    pub host_native_port: u16,
    pub database: String,
    pub users: ClickHouseUsers,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseUsers {
    pub admin: String,
    pub writer: String,
    pub readonly: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub image: String,
    /// Build the image from its recipe under images/ (false: use `image` as published, e.g. an
    /// official upstream image honouring the mount contract).
    #[serde(default = "default_true")]
    pub build: bool,
    pub resources: Resources,
    /// What the engine does when the container stops (a crashed service comes back by itself).
    #[serde(default)]
    pub restart: RestartPolicy,
}

/// Docker's restart policies, as Compose spells them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    No,
    Always,
    #[default]
    UnlessStopped,
    OnFailure,
}

impl RestartPolicy {
    pub const ALL: [RestartPolicy; 4] = [
        RestartPolicy::No,
        RestartPolicy::Always,
        RestartPolicy::UnlessStopped,
        RestartPolicy::OnFailure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
            RestartPolicy::OnFailure => "on-failure",
        }
    }

    pub fn parse(text: &str) -> Option<RestartPolicy> {
        RestartPolicy::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

fn one() -> u16 {
    1
}

fn default_true() -> bool {
    true
}

fn loopback() -> std::net::IpAddr {
    std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    pub cpus: f64,
    pub memory_mb: u64,
}

/// Which Kafka role a principal plays; decides which services hold its credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KafkaRole {
    Admin,
    SchemaRegistry,
    Connect,
    App,
}

impl KafkaRole {
    /// Every role, in the order principals are listed.
    pub const ALL: [KafkaRole; 4] = [
        KafkaRole::Admin,
        KafkaRole::SchemaRegistry,
        KafkaRole::Connect,
        KafkaRole::App,
    ];
}

/// Which ClickHouse role a user plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClickHouseRole {
    Admin,
    Writer,
    Readonly,
}

impl ClickHouseRole {
    /// Every role, in the order principals are listed.
    pub const ALL: [ClickHouseRole; 3] = [
        ClickHouseRole::Admin,
        ClickHouseRole::Writer,
        ClickHouseRole::Readonly,
    ];
}

/// Which REST API a login is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestApi {
    Connect,
    SchemaRegistry,
}

impl RestApi {
    pub const ALL: [RestApi; 2] = [RestApi::Connect, RestApi::SchemaRegistry];
}

/// A credential the stack needs: one per principal, one secret file each.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "system", rename_all = "kebab-case")]
pub enum Principal {
    Kafka { role: KafkaRole, user: String },
    ClickHouse { role: ClickHouseRole, user: String },
    Rest { api: RestApi, user: String },
}

impl Principal {
    /// Stable identifier used for the secret file and on the command line, e.g. `kafka-admin`,
    /// `connect-rest`.
    pub fn id(&self) -> String {
        match self {
            Principal::Kafka { user, .. } => format!("kafka-{user}"),
            Principal::ClickHouse { user, .. } => format!("clickhouse-{user}"),
            Principal::Rest {
                api: RestApi::Connect,
                ..
            } => "connect-rest".into(),
            Principal::Rest {
                api: RestApi::SchemaRegistry,
                ..
            } => "schema-registry-rest".into(),
        }
    }

    pub fn user(&self) -> &str {
        match self {
            Principal::Kafka { user, .. }
            | Principal::ClickHouse { user, .. }
            | Principal::Rest { user, .. } => user,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id())
    }
}

impl Settings {
    /// Reads and validates `<root>/configs/stack.yaml`.
    pub fn load(root: &Path) -> Result<Settings, ConfigError> {
        let path = root.join(SETTINGS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Self::parse(&text, &path)
    }

    /// Parses settings text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Settings, ConfigError> {
        // The error names where in the file the problem is (e.g. `kafka: unknown field …`).
        let settings: Settings = serde_path_to_error::deserialize(
            serde_norway::Deserializer::from_str(text),
        )
        .map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: format!("{}: {}", e.path(), e.inner()),
        })?;
        settings.validate(path)?;
        Ok(settings)
    }

    /// Every principal, Kafka first, then ClickHouse, then the REST logins, in a stable order.
    pub fn principals(&self) -> Vec<Principal> {
        KafkaRole::ALL
            .into_iter()
            .map(|role| self.kafka_principal(role))
            .chain(
                ClickHouseRole::ALL
                    .into_iter()
                    .map(|role| self.clickhouse_principal(role)),
            )
            .chain(RestApi::ALL.into_iter().map(|api| self.rest_principal(api)))
            .collect()
    }

    /// Every port the stack publishes on the host: (service, host port, container port). Nothing
    /// else may be published, and each binds [`Settings::publish_address`].
    pub fn published_ports(&self) -> Vec<(ServiceKind, u16, u16)> {
        let (k, s, c, ch) = (
            &self.kafka,
            &self.schema_registry,
            &self.connect,
            &self.clickhouse,
        );
        let mut ports: Vec<(ServiceKind, u16, u16)> = self
            .kafka_nodes()
            .iter()
            .map(|n| (ServiceKind::Kafka, n.host_port, k.listeners.external))
            .collect();
        ports.extend([
            (ServiceKind::SchemaRegistry, s.host_port, s.port),
            (ServiceKind::Connect, c.host_port, c.port),
            (ServiceKind::ClickHouse, ch.host_http_port, ch.http_port),
            (ServiceKind::ClickHouse, ch.host_native_port, ch.native_port),
        ]);
        ports
    }

    pub fn rest_principal(&self, api: RestApi) -> Principal {
        let user = match api {
            RestApi::Connect => &self.connect.rest_user,
            RestApi::SchemaRegistry => &self.schema_registry.rest_user,
        };
        Principal::Rest {
            api,
            user: user.clone(),
        }
    }

    /// The principal with this id (`kafka-admin`, `clickhouse-writer`, …).
    pub fn principal(&self, id: &str) -> Option<Principal> {
        self.principals().into_iter().find(|p| p.id() == id)
    }

    pub fn kafka_principal(&self, role: KafkaRole) -> Principal {
        let k = &self.kafka.principals;
        let user = match role {
            KafkaRole::Admin => &k.admin,
            KafkaRole::SchemaRegistry => &k.schema_registry,
            KafkaRole::Connect => &k.connect,
            KafkaRole::App => &k.app,
        };
        Principal::Kafka {
            role,
            user: user.clone(),
        }
    }

    pub fn clickhouse_principal(&self, role: ClickHouseRole) -> Principal {
        let c = &self.clickhouse.users;
        let user = match role {
            ClickHouseRole::Admin => &c.admin,
            ClickHouseRole::Writer => &c.writer,
            ClickHouseRole::Readonly => &c.readonly,
        };
        Principal::ClickHouse {
            role,
            user: user.clone(),
        }
    }

    /// Whether the ClickHouse server takes SQL-style `<grants>` in users XML (23.1 and later);
    /// older servers get the profile-based equivalent.
    pub fn clickhouse_supports_xml_grants(&self) -> bool {
        validate::parse_major_minor(&self.clickhouse.version).is_some_and(|v| v >= (23, 1))
    }
}

#[cfg(test)]
mod tests;
