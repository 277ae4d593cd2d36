//! The services the stack is made of. Compose files may name others (tests do); these four are
//! the ones stackctl knows how to provision and check.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    Kafka,
    SchemaRegistry,
    Connect,
    ClickHouse,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 4] = [
        ServiceKind::Kafka,
        ServiceKind::SchemaRegistry,
        ServiceKind::Connect,
        ServiceKind::ClickHouse,
    ];

    /// The service's name in the compose file, the settings' `services:` map and on labels.
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Kafka => "kafka",
            ServiceKind::SchemaRegistry => "schema-registry",
            ServiceKind::Connect => "connect",
            ServiceKind::ClickHouse => "clickhouse",
        }
    }

    pub fn from_name(name: &str) -> Option<ServiceKind> {
        ServiceKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The setting in configs/stack.yaml that names the port this service publishes.
    pub fn host_port_setting(self) -> &'static str {
        match self {
            ServiceKind::Kafka => "kafka.host_port",
            ServiceKind::SchemaRegistry => "schema_registry.host_port",
            ServiceKind::Connect => "connect.host_port",
            ServiceKind::ClickHouse => "clickhouse.host_http_port",
        }
    }

    /// Every known service name, comma-separated (for error messages).
    pub fn known() -> String {
        ServiceKind::ALL.map(ServiceKind::name).join(", ")
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
