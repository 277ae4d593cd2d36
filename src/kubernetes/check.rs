//! Cross-checks the operators' schemas cannot make: every principal an ACL, a super user or a
//! client login names has a `KafkaUser` (and only declared principals do), each KafkaUser's ACLs
//! are exactly the declared ones, every referenced Secret key is rendered or named, the
//! connector's `${directory:…}` references resolve to a mounted Secret key, the `KafkaTopic`s are
//! exactly the settings' topics, no secret value appears outside a Secret, and (`selectors`)
//! Services and Deployments select the pods rendered.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use super::names::kafka_user_name;
use super::{KubePlan, strimzi};
use crate::secrets::SecretSet;
use crate::settings::{KafkaRole, Settings};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrossCheckError {
    #[error(
        "{file}: {what} names Kafka user `{user}`, which has no KafkaUser; declare the principal under kafka.principals (and its grants under kafka.acls)"
    )]
    UnknownPrincipal {
        file: PathBuf,
        what: String,
        user: String,
    },
    #[error(
        "{file}: KafkaUser `{user}` grants {found}, but configs/stack.yaml declares {declared}"
    )]
    AclDrift {
        file: PathBuf,
        user: String,
        found: String,
        declared: String,
    },
    #[error("no KafkaUser for declared principal `{0}`")]
    MissingUser(String),
    #[error(
        "{file}: references Secret `{secret}` key `{key}`, which is neither rendered nor listed"
    )]
    UnknownSecretKey {
        file: PathBuf,
        secret: String,
        key: String,
    },
    #[error(
        "{file}: `{reference}` does not resolve: no Secret with key `{key}` is mounted at {path} in the KafkaConnect (or the path is not in allowed.paths)"
    )]
    UnresolvedReference {
        file: PathBuf,
        reference: String,
        path: String,
        key: String,
    },
    #[error("{file}: the Secret lacks key `{key}`, which the manifests read")]
    MissingSecretKey { file: PathBuf, key: String },
    #[error(
        "{file}: config `{key}` is managed by Strimzi (prefix `{prefix}`), which would ignore it; set it through the resource's own fields"
    )]
    ForbiddenConfig {
        file: PathBuf,
        key: String,
        prefix: String,
    },
    #[error("KafkaTopics {found} differ from the settings' topics {declared}")]
    TopicDrift { found: String, declared: String },
    #[error(
        "{file}: holds the secret of {principal} outside a Secret; reference the Secret instead"
    )]
    SecretLeak { file: PathBuf, principal: String },
    #[error(
        "{file}: selector {selector} matches no pod template rendered here (it would select nothing)"
    )]
    SelectorMismatch { file: PathBuf, selector: String },
    #[error("{file}: targetPort {port} is not a port of the pods the Service selects")]
    UnknownTargetPort { file: PathBuf, port: String },
}

/// Every problem of `plan`; empty when it passes. With `secrets`, also scans every non-Secret
/// manifest for their values.
pub fn cross_check(plan: &KubePlan, settings: &Settings) -> Vec<CrossCheckError> {
    let mut errors = principals(plan, settings);
    errors.extend(secret_refs(plan));
    errors.extend(directory_refs(plan));
    errors.extend(topics(plan, settings));
    errors.extend(forbidden_config(plan));
    errors.extend(super::selectors::check(plan));
    errors
}

/// Options Strimzi 1.2 manages itself and ignores (with a warning) in a resource's `config`
/// (`FORBIDDEN_PREFIXES` of `KafkaClusterSpec` and `KafkaConnectSpec` in `io.strimzi:api`;
/// the few exceptions it allows are not needed here).
const KAFKA_FORBIDDEN: &[&str] = &[
    "listeners",
    "advertised.",
    "broker.",
    "listener.",
    "host.name",
    "port",
    "inter.broker.listener.name",
    "sasl.",
    "ssl.",
    "security.",
    "password.",
    "log.dir",
    "authorizer.",
    "super.user",
    "node.id",
    "process.roles",
    "controller.",
    "metadata.log.dir",
    "cruise.control.metrics.topic",
    "prometheus.metrics.reporter.",
    "cordoned.log.dirs",
];
const CONNECT_FORBIDDEN: &[&str] = &[
    "group.id",
    "config.storage.topic",
    "offset.storage.topic",
    "status.storage.topic",
    "ssl.",
    "sasl.",
    "security.",
    "listeners",
    "plugin.path",
    "rest.",
    "bootstrap.servers",
    "consumer.interceptor.classes",
    "producer.interceptor.classes",
    "prometheus.metrics.reporter.",
];

fn forbidden_config(plan: &KubePlan) -> Vec<CrossCheckError> {
    let mut errors = Vec::new();
    for m in &plan.manifests {
        let (config, forbidden) = match m.kind() {
            "Kafka" => (&m.doc["spec"]["kafka"]["config"], KAFKA_FORBIDDEN),
            "KafkaConnect" => (&m.doc["spec"]["config"], CONNECT_FORBIDDEN),
            _ => continue,
        };
        for key in config.as_object().into_iter().flat_map(|o| o.keys()) {
            if let Some(prefix) = forbidden.iter().find(|p| key.starts_with(*p)) {
                errors.push(CrossCheckError::ForbiddenConfig {
                    file: m.path.clone(),
                    key: key.clone(),
                    prefix: (*prefix).to_string(),
                });
            }
        }
    }
    errors
}

/// Scans every non-Secret manifest for any secret value.
pub fn leaks(plan: &KubePlan, settings: &Settings, secrets: &SecretSet) -> Vec<CrossCheckError> {
    let mut errors = Vec::new();
    for m in plan.manifests.iter().filter(|m| !m.is_secret()) {
        let text = m.doc.to_string();
        for p in settings.principals() {
            if secrets.get(&p).is_some_and(|v| text.contains(v.expose())) {
                errors.push(CrossCheckError::SecretLeak {
                    file: m.path.clone(),
                    principal: p.id(),
                });
            }
        }
    }
    errors
}

fn of_kind<'a>(plan: &'a KubePlan, kind: &'a str) -> impl Iterator<Item = &'a super::Manifest> {
    plan.manifests.iter().filter(move |m| m.kind() == kind)
}

fn principals(plan: &KubePlan, settings: &Settings) -> Vec<CrossCheckError> {
    let mut errors = Vec::new();
    let mut declared = BTreeMap::new();
    for role in KafkaRole::ALL {
        let user = settings.kafka_principal(role).user().to_string();
        if let Ok(name) = kafka_user_name("", &user) {
            declared.insert(name, role);
        }
    }
    let users: BTreeSet<&str> = of_kind(plan, "KafkaUser")
        .map(super::Manifest::name)
        .collect();
    let mut named = |file: &PathBuf, what: &str, user: &str| {
        if !users.contains(user) || !declared.contains_key(user) {
            errors.push(CrossCheckError::UnknownPrincipal {
                file: file.clone(),
                what: what.into(),
                user: user.into(),
            });
        }
    };
    for m in of_kind(plan, "KafkaUser") {
        named(&m.path, "a KafkaUser with ACLs", m.name());
    }
    for m in of_kind(plan, "Kafka") {
        let supers = m.doc["spec"]["kafka"]["authorization"]["superUsers"].as_array();
        for user in supers.into_iter().flatten().filter_map(Value::as_str) {
            named(&m.path, "superUsers", user);
        }
    }
    for m in of_kind(plan, "KafkaConnect") {
        if let Some(user) = m.doc["spec"]["authentication"]["username"].as_str() {
            named(&m.path, "the Connect login", user);
        }
    }
    for name in declared.keys().filter(|n| !users.contains(n.as_str())) {
        errors.push(CrossCheckError::MissingUser(name.clone()));
    }
    errors.extend(acl_drift(plan, settings, &declared));
    errors
}

/// Each declared principal's KafkaUser grants exactly its declared ACLs (from phase 5; none
/// before).
fn acl_drift(
    plan: &KubePlan,
    settings: &Settings,
    declared: &BTreeMap<String, KafkaRole>,
) -> Vec<CrossCheckError> {
    let mut errors = Vec::new();
    for m in of_kind(plan, "KafkaUser") {
        let Some(role) = declared.get(m.name()) else {
            continue;
        };
        let found: BTreeSet<String> = m.doc["spec"]["authorization"]["acls"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(acl_strings)
            .collect();
        let want: BTreeSet<String> = if plan.phase.enforces_authorization() {
            settings
                .kafka
                .acls
                .of(*role)
                .0
                .iter()
                .flat_map(|g| {
                    g.operations.iter().map(|op| {
                        format!(
                            "{}:{}:{}:{}",
                            strimzi::resource_type(g.resource),
                            g.name,
                            strimzi::pattern_type(g.pattern),
                            strimzi::operation(*op)
                        )
                    })
                })
                .collect()
        } else {
            BTreeSet::new()
        };
        if found != want {
            errors.push(CrossCheckError::AclDrift {
                file: m.path.clone(),
                user: m.name().into(),
                found: list(&found),
                declared: list(&want),
            });
        }
    }
    errors
}

fn acl_strings(acl: &Value) -> Vec<String> {
    let r = &acl["resource"];
    let kind = r["type"].as_str().unwrap_or("?");
    let name = if kind == "cluster" {
        crate::settings::CLUSTER_RESOURCE
    } else {
        r["name"].as_str().unwrap_or("?")
    };
    let pattern = r["patternType"].as_str().unwrap_or("literal");
    let deny = acl["type"].as_str() == Some("deny");
    acl["operations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|op| {
            let op = if deny {
                format!("DENY {op}")
            } else {
                op.to_string()
            };
            format!("{kind}:{name}:{pattern}:{op}")
        })
        .collect()
}

fn list(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "nothing".into()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Every (Secret, key) a manifest reads.
fn referenced(doc: &Value, out: &mut Vec<(String, Option<String>)>) {
    match doc {
        Value::Object(map) => {
            if let Some(r) = map.get("secretKeyRef") {
                out.push((str_of(&r["name"]), Some(str_of(&r["key"]))));
            }
            if let Some(r) = map.get("passwordSecret") {
                out.push((str_of(&r["secretName"]), Some(str_of(&r["password"]))));
            }
            if let Some(name) = map.get("secret").and_then(|s| s.get("secretName")) {
                out.push((str_of(name), None));
            }
            map.values().for_each(|v| referenced(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| referenced(v, out)),
        _ => {}
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

fn secret_refs(plan: &KubePlan) -> Vec<CrossCheckError> {
    let mut errors = rendered_secrets(plan);
    let known: BTreeMap<&str, &[String]> = plan
        .secrets
        .iter()
        .map(|s| (s.name.as_str(), s.keys.as_slice()))
        .collect();
    for m in plan.manifests.iter().filter(|m| !m.is_secret()) {
        let mut refs = Vec::new();
        referenced(&m.doc, &mut refs);
        for (secret, key) in refs {
            let ok = known
                .get(secret.as_str())
                .is_some_and(|keys| key.as_ref().is_none_or(|k| keys.contains(k)));
            if !ok {
                errors.push(CrossCheckError::UnknownSecretKey {
                    file: m.path.clone(),
                    secret,
                    key: key.unwrap_or_else(|| "(whole Secret)".into()),
                });
            }
        }
    }
    errors
}

/// A rendered Secret is listed and carries exactly the listed keys.
fn rendered_secrets(plan: &KubePlan) -> Vec<CrossCheckError> {
    let mut errors = Vec::new();
    for m in plan.manifests.iter().filter(|m| m.is_secret()) {
        let keys: Vec<String> = m.doc["stringData"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let listed = plan.secrets.iter().find(|s| s.name == m.name());
        for key in &keys {
            if !listed.is_some_and(|s| s.keys.contains(key)) {
                errors.push(CrossCheckError::UnknownSecretKey {
                    file: m.path.clone(),
                    secret: m.name().into(),
                    key: key.clone(),
                });
            }
        }
        for key in listed.map(|s| s.keys.as_slice()).unwrap_or_default() {
            if !keys.contains(key) {
                errors.push(CrossCheckError::MissingSecretKey {
                    file: m.path.clone(),
                    key: key.clone(),
                });
            }
        }
    }
    errors
}

/// `${directory:PATH:KEY}` in a KafkaConnector resolves: PATH is a mount of a listed Secret that
/// has KEY, and PATH is an allowed path of the provider.
fn directory_refs(plan: &KubePlan) -> Vec<CrossCheckError> {
    let mut mounted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut allowed = Vec::new();
    for m in of_kind(plan, "KafkaConnect") {
        let spec = &m.doc["spec"];
        let volumes = spec["template"]["pod"]["volumes"].as_array();
        let mounts = spec["template"]["connectContainer"]["volumeMounts"].as_array();
        for mount in mounts.into_iter().flatten() {
            let volume = volumes
                .into_iter()
                .flatten()
                .find(|v| v["name"] == mount["name"]);
            let secret = volume.map(|v| str_of(&v["secret"]["secretName"]));
            let keys = plan
                .secrets
                .iter()
                .find(|s| Some(&s.name) == secret.as_ref())
                .map(|s| s.keys.clone())
                .unwrap_or_default();
            mounted.insert(str_of(&mount["mountPath"]), keys);
        }
        let paths = str_of(&spec["config"]["config.providers.directory.param.allowed.paths"]);
        allowed.extend(paths.split(',').map(|p| p.trim().to_string()));
    }
    let mut errors = Vec::new();
    for m in of_kind(plan, "KafkaConnector") {
        let config = m.doc["spec"]["config"].as_object().into_iter().flatten();
        for value in config.filter_map(|(_, v)| v.as_str()) {
            let Some(inner) = value
                .strip_prefix("${directory:")
                .and_then(|v| v.strip_suffix('}'))
            else {
                continue;
            };
            let (path, key) = inner.rsplit_once(':').unwrap_or((inner, ""));
            let ok = allowed.iter().any(|a| a == path)
                && mounted
                    .get(path)
                    .is_some_and(|keys| keys.iter().any(|k| k == key));
            if !ok {
                errors.push(CrossCheckError::UnresolvedReference {
                    file: m.path.clone(),
                    reference: value.into(),
                    path: path.into(),
                    key: key.into(),
                });
            }
        }
    }
    errors
}

fn topics(plan: &KubePlan, settings: &Settings) -> Vec<CrossCheckError> {
    let found: BTreeSet<String> = of_kind(plan, "KafkaTopic")
        .map(|m| str_of(&m.doc["spec"]["topicName"]))
        .collect();
    let declared: BTreeSet<String> = settings.known_topics().into_iter().collect();
    if found == declared {
        Vec::new()
    } else {
        vec![CrossCheckError::TopicDrift {
            found: list(&found),
            declared: list(&declared),
        }]
    }
}
