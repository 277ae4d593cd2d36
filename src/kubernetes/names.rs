//! Kubernetes names. A KafkaUser's name IS its Kafka user name and must be a DNS-1123 subdomain,
//! so a principal such as `schema_registry` becomes `schema-registry` (one stated rule: `_` → `-`;
//! every ACL, super user and client login follows it). Anything the rule cannot fix is refused.

use std::collections::BTreeMap;

use super::KubeError;
use crate::settings::{KafkaRole, Settings};

/// The stated mapping of a Kafka principal to its KafkaUser name: `_` becomes `-`; the result
/// must be a DNS-1123 subdomain (lowercase letters, digits, `-`, `.`; at most 253).
pub fn kafka_user_name(setting: &str, user: &str) -> Result<String, KubeError> {
    let name = user.replace('_', "-");
    dns_subdomain(setting, user, &name)?;
    Ok(name)
}

/// Checks a DNS-1123 label (namespaces, object names that become label values or hostnames).
pub fn dns_label(setting: &str, value: &str) -> Result<(), KubeError> {
    if value.len() > 63 {
        return Err(bad(setting, value, "longer than 63 characters"));
    }
    dns_subdomain(setting, value, value)?;
    if value.contains('.') {
        return Err(bad(setting, value, "contains `.`"));
    }
    Ok(())
}

fn dns_subdomain(setting: &str, original: &str, name: &str) -> Result<(), KubeError> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.is_empty() || name.len() > 253 {
        return Err(bad(setting, original, "must be 1 to 253 characters"));
    }
    if let Some(c) = name.chars().find(|c| !ok_char(*c)) {
        return Err(bad(
            setting,
            original,
            &format!(
                "`{c}` is not allowed (lowercase letters, digits, `-` and `.` only; `_` maps to `-`)"
            ),
        ));
    }
    if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        return Err(bad(
            setting,
            original,
            "must start and end with a lowercase letter or digit",
        ));
    }
    Ok(())
}

fn bad(setting: &str, value: &str, problem: &str) -> KubeError {
    KubeError::BadName {
        setting: setting.to_string(),
        value: value.to_string(),
        problem: problem.to_string(),
    }
}

/// The object names every renderer shares.
pub(super) struct Names {
    /// Kafka, KafkaConnect and ClickHouseInstallation name (`project`).
    pub project: String,
    /// KafkaRole → KafkaUser name (= the Kafka user name on the cluster).
    users: BTreeMap<KafkaRole, (String, String)>,
    /// The KafkaConnector's name (`connect.connector`).
    pub connector: String,
}

impl Names {
    pub fn new(settings: &Settings) -> Result<Names, KubeError> {
        dns_label("project", &settings.project)?;
        dns_label("connect.connector", &settings.connect.connector)?;
        let mut users = BTreeMap::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for role in KafkaRole::ALL {
            let principal = settings.kafka_principal(role);
            let setting = format!("kafka.principals.{}", role_key(role));
            let name = kafka_user_name(&setting, principal.user())?;
            if let Some(first) = seen.insert(name.clone(), principal.user().to_string()) {
                return Err(KubeError::NameClash {
                    first,
                    second: principal.user().to_string(),
                    name,
                });
            }
            users.insert(role, (principal.user().to_string(), name));
        }
        Ok(Names {
            project: settings.project.clone(),
            users,
            connector: settings.connect.connector.clone(),
        })
    }

    /// The KafkaUser (and Kafka user) name of a role.
    pub fn user(&self, role: KafkaRole) -> &str {
        self.users.get(&role).map_or("", |(_, name)| name.as_str())
    }

    /// (principal in configs/stack.yaml, KafkaUser name) where the mapping changed the name.
    pub fn renamed(&self) -> Vec<(String, String)> {
        self.users
            .values()
            .filter(|(from, to)| from != to)
            .cloned()
            .collect()
    }

    /// The Secret holding a Kafka principal's password (key `password`).
    pub fn kafka_secret(&self, role: KafkaRole) -> String {
        format!("{}-kafka-{}", self.project, self.user(role))
    }

    /// The Strimzi bootstrap service of the internal listener.
    pub fn bootstrap(&self, port: u16) -> String {
        format!("{}-kafka-bootstrap:{port}", self.project)
    }
}

pub(super) fn role_key(role: KafkaRole) -> &'static str {
    match role {
        KafkaRole::Admin => "admin",
        KafkaRole::SchemaRegistry => "schema_registry",
        KafkaRole::Connect => "connect",
        KafkaRole::App => "app",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underscore_maps_to_dash() {
        assert_eq!(
            kafka_user_name("kafka.principals.schema_registry", "schema_registry").unwrap(),
            "schema-registry"
        );
    }

    #[test]
    fn upper_case_is_refused_with_the_setting() {
        let err = kafka_user_name("kafka.principals.app", "App").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("kafka.principals.app = `App`"), "{text}");
        assert!(text.contains("`A` is not allowed"), "{text}");
    }

    #[test]
    fn labels_refuse_dots_and_length() {
        assert!(dns_label("--namespace", "a.b").is_err());
        assert!(dns_label("--namespace", &"a".repeat(64)).is_err());
        assert!(dns_label("--namespace", "team-1").is_ok());
        assert!(dns_label("--namespace", "-x").is_err());
    }
}
