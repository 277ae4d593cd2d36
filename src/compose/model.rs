//! The resolved model `stackctl config` prints: the settings and the compose file as stackctl
//! will run them at one phase. Built from names, ports and limits only: it never holds a secret.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Service, Stack};
use crate::settings::{
    Capabilities, ClickHouseRole, KafkaRole, Phase, Principal, RestApi, Settings,
};

#[derive(Debug, Serialize)]
pub struct Model {
    pub project: String,
    /// The phase the services below are resolved for.
    pub phase: Phase,
    pub phases: Vec<PhaseModel>,
    pub services: BTreeMap<String, ServiceModel>,
    pub principals: Principals,
}

#[derive(Debug, Serialize)]
pub struct PhaseModel {
    pub phase: Phase,
    pub title: &'static str,
    pub capabilities: Capabilities,
}

#[derive(Debug, Serialize)]
pub struct ServiceModel {
    pub image: String,
    /// The recipe it is built from, when it has one.
    pub build: Option<String>,
    /// `host_ip:host_port -> container_port`.
    pub ports: Vec<String>,
    /// Resource limits (from the hardening phase on).
    pub limits: Option<LimitsModel>,
    /// The restart policy the container is created with (Docker's names), if any.
    pub restart: Option<&'static str>,
    /// The log driver and its rotation options (`logging:` in the settings), if any.
    pub logging: Option<LoggingModel>,
    pub depends_on: Vec<String>,
    /// Paths inside the container of the rendered files it mounts.
    pub files: Vec<String>,
    pub volumes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct LoggingModel {
    pub driver: String,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct LimitsModel {
    pub cpus: f64,
    pub memory_mb: i64,
}

#[derive(Debug, Serialize)]
pub struct PrincipalModel {
    /// The secret file's id, e.g. `kafka-admin` (the name, never the value).
    pub id: String,
    pub user: String,
    pub role: String,
}

#[derive(Debug, Serialize)]
pub struct Principals {
    pub kafka: Vec<PrincipalModel>,
    pub clickhouse: Vec<PrincipalModel>,
    /// REST API logins (Connect, Schema Registry), role = the API.
    pub rest: Vec<PrincipalModel>,
}

/// A path as people write it: `./compose/../images/kafka` → `./images/kafka` (lexically; the
/// compose file's directory is a real directory, so `dir/..` is the same place).
fn tidy(path: &std::path::Path) -> String {
    use std::path::Component;
    let mut parts: Vec<Component> = Vec::new();
    for c in path.components() {
        match (c, parts.last()) {
            (Component::ParentDir, Some(Component::Normal(_))) => {
                parts.pop();
            }
            _ => parts.push(c),
        }
    }
    parts
        .iter()
        .collect::<std::path::PathBuf>()
        .display()
        .to_string()
}

/// One service of the model.
fn service_model(s: &Service) -> ServiceModel {
    ServiceModel {
        image: s.image.clone(),
        build: s.build_context.as_deref().map(tidy),
        ports: s
            .ports
            .iter()
            .map(|p| format!("{}:{}->{}", p.host_ip, p.host_port, p.container_port))
            .collect(),
        limits: s.limits.as_ref().map(|l| LimitsModel {
            cpus: l.nano_cpus as f64 / 1e9,
            memory_mb: l.memory_bytes / (1024 * 1024),
        }),
        restart: s.restart.map(super::super::settings::RestartPolicy::as_str),
        logging: s.logging.as_ref().map(|l| LoggingModel {
            driver: l.driver.clone(),
            options: l.options.clone(),
        }),
        depends_on: s.depends_on.clone(),
        files: s.files.iter().map(|f| f.target.clone()).collect(),
        volumes: s
            .volumes
            .iter()
            .map(|v| format!("{}:{}", v.volume, v.target))
            .collect(),
    }
}

/// The model of `stack` (resolved for its phase) with `settings`.
pub fn model(settings: &Settings, stack: &Stack) -> Model {
    let services = stack
        .services
        .iter()
        .map(|s| (s.name.clone(), service_model(s)))
        .collect();
    let mut principals = Principals {
        kafka: Vec::new(),
        clickhouse: Vec::new(),
        rest: Vec::new(),
    };
    for p in settings.principals() {
        let role = match &p {
            Principal::Kafka { role, .. } => match role {
                KafkaRole::Admin => "admin",
                KafkaRole::SchemaRegistry => "schema-registry",
                KafkaRole::Connect => "connect",
                KafkaRole::App => "app",
            },
            Principal::ClickHouse { role, .. } => match role {
                ClickHouseRole::Admin => "admin",
                ClickHouseRole::Writer => "writer",
                ClickHouseRole::Readonly => "readonly",
            },
            Principal::Rest { api, .. } => match api {
                RestApi::Connect => "connect",
                RestApi::SchemaRegistry => "schema-registry",
            },
        }
        .to_string();
        let entry = PrincipalModel {
            id: p.id(),
            user: p.user().to_string(),
            role,
        };
        match p {
            Principal::Kafka { .. } => principals.kafka.push(entry),
            Principal::ClickHouse { .. } => principals.clickhouse.push(entry),
            Principal::Rest { .. } => principals.rest.push(entry),
        }
    }
    Model {
        project: stack.project.clone(),
        phase: stack.phase,
        phases: Phase::ALL
            .into_iter()
            .map(|phase| PhaseModel {
                phase,
                title: phase.title(),
                capabilities: phase.capabilities(),
            })
            .collect(),
        services,
        principals,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn recipe_paths_read_as_written() {
        let tidy = |p: &str| super::tidy(std::path::Path::new(p));
        assert_eq!(tidy("./compose/../images/kafka"), "./images/kafka");
        assert_eq!(
            tidy("/srv/p/compose/../images/kafka"),
            "/srv/p/images/kafka"
        );
        assert_eq!(tidy("../images"), "../images");
    }
}
