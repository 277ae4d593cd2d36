//! The same settings rendered for Kubernetes: Strimzi (`kafka.strimzi.io/v1`) for Kafka and
//! Connect, Altinity's operator (`clickhouse.altinity.com/v1`) for ClickHouse, a Deployment for
//! the Schema Registry, Secrets (values only on request), NetworkPolicies.
//!
//! Data flows one way: settings + phase (+ secrets for `--with-secrets`) → [`KubePlan`] (JSON
//! values) → cross-checks → files. Nothing here talks to a cluster.

mod access;
mod check;
mod clickhouse;
mod connect;
mod names;
mod registry;
mod selectors;
mod strimzi;
mod write;

use std::path::PathBuf;

use serde_json::Value;

use crate::secrets::SecretSet;
use crate::settings::{Phase, Resources, Settings};

pub use access::SecretSpec;
pub use access::{CLICKHOUSE_LABEL, KAFKA_LABEL, REGISTRY_LABEL};
pub use check::{CrossCheckError, cross_check, leaks};
pub use names::{dns_label, kafka_user_name};
pub use write::{FILE_LIST, WriteError, Written, WrittenFile, write};

/// The lowest phase the Kubernetes target renders: below it ClickHouse runs without logins,
/// which stackctl does not carry to a cluster.
pub const MIN_PHASE: Phase = Phase::ClickHouseAuth;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error(
        "the kubernetes target starts at phase {min}: phase {phase} leaves ClickHouse without logins; pass --phase {min} or higher",
        min = MIN_PHASE.number(),
        phase = .0.number()
    )]
    PhaseTooLow(Phase),
    #[error("{setting} = `{value}` cannot name a Kubernetes object: {problem}")]
    BadName {
        setting: String,
        value: String,
        problem: String,
    },
    #[error(
        "Kafka principals `{first}` and `{second}` both map to the KafkaUser `{name}`; rename one in configs/stack.yaml (kafka.principals)"
    )]
    NameClash {
        first: String,
        second: String,
        name: String,
    },
    #[error(
        "a secret cannot be written into {what}: {source}; rotate it (`stackctl init-secrets --force ID`)"
    )]
    Unrepresentable {
        what: &'static str,
        source: crate::render::escape::EscapeError,
    },
    #[error("no secret for {0} (run `stackctl init-secrets`)")]
    MissingSecret(String),
    #[error("services.{0} is missing from configs/stack.yaml")]
    MissingService(&'static str),
    #[error("the rendered manifests fail {} cross-check(s):\n  - {}", .0.len(), join(.0))]
    CrossCheck(Vec<CrossCheckError>),
}

fn join(errors: &[CrossCheckError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n  - ")
}

/// What to render.
#[derive(Debug, Clone)]
pub struct Options {
    pub phase: Phase,
    pub namespace: String,
    /// The ClickHouse schema, rendered from the same template as the Docker path
    /// ([`crate::render::schema_sql`]).
    pub schema_sql: String,
}

/// One manifest: where it goes under the output directory and what it holds.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub path: PathBuf,
    pub doc: Value,
}

impl Manifest {
    fn new(path: impl Into<PathBuf>, doc: Value) -> Manifest {
        Manifest {
            path: path.into(),
            doc,
        }
    }

    pub fn kind(&self) -> &str {
        self.doc["kind"].as_str().unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.doc["metadata"]["name"].as_str().unwrap_or("")
    }

    /// A Secret holds values; its file is written 0600.
    pub fn is_secret(&self) -> bool {
        self.kind() == "Secret"
    }
}

/// Everything rendered for one phase.
#[derive(Debug, Clone)]
pub struct KubePlan {
    pub phase: Phase,
    pub namespace: String,
    pub manifests: Vec<Manifest>,
    /// Every Secret the manifests reference, with the keys they use and how to create it.
    pub secrets: Vec<SecretSpec>,
    /// Kafka principal → KafkaUser name, where they differ.
    pub renamed_users: Vec<(String, String)>,
}

/// Renders every manifest for `options`; with `secrets`, the Secrets too. The result has passed
/// [`cross_check`].
pub fn plan(
    settings: &Settings,
    options: &Options,
    secrets: Option<&SecretSet>,
) -> Result<KubePlan, KubeError> {
    if options.phase < MIN_PHASE {
        return Err(KubeError::PhaseTooLow(options.phase));
    }
    let ctx = Ctx::new(settings, options)?;
    let mut manifests = strimzi::manifests(&ctx)?;
    manifests.extend(connect::manifests(&ctx)?);
    manifests.extend(clickhouse::manifests(&ctx)?);
    manifests.extend(registry::manifests(&ctx)?);
    manifests.extend(access::network_policies(&ctx));
    let specs = access::secret_specs(&ctx);
    if let Some(secrets) = secrets {
        manifests.extend(access::secrets(&ctx, &specs, secrets)?);
    }
    let plan = KubePlan {
        phase: options.phase,
        namespace: options.namespace.clone(),
        manifests,
        secrets: specs,
        renamed_users: ctx.names.renamed(),
    };
    let mut problems = cross_check(&plan, settings);
    if let Some(secrets) = secrets {
        problems.extend(leaks(&plan, settings, secrets));
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(KubeError::CrossCheck(problems))
    }
}

/// What every renderer reads: the settings, the options and the derived names.
struct Ctx<'a> {
    settings: &'a Settings,
    phase: Phase,
    namespace: &'a str,
    schema_sql: &'a str,
    names: names::Names,
}

impl<'a> Ctx<'a> {
    fn new(settings: &'a Settings, options: &'a Options) -> Result<Ctx<'a>, KubeError> {
        dns_label("--namespace", &options.namespace)?;
        Ok(Ctx {
            settings,
            phase: options.phase,
            namespace: &options.namespace,
            schema_sql: &options.schema_sql,
            names: names::Names::new(settings)?,
        })
    }

    /// `metadata` with the namespace and stackctl's labels.
    fn metadata(&self, name: &str, component: &str) -> Value {
        serde_json::json!({
            "name": name,
            "namespace": self.namespace,
            "labels": self.labels(component),
        })
    }

    fn labels(&self, component: &str) -> Value {
        serde_json::json!({
            "app.kubernetes.io/part-of": self.names.project,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/managed-by": "stackctl",
        })
    }

    fn service(&self, name: &'static str) -> Result<&'a crate::settings::Service, KubeError> {
        self.settings
            .services
            .get(name)
            .ok_or(KubeError::MissingService(name))
    }

    /// Requests = limits from the service's limits (phase 4 on), else none.
    fn resources(&self, service: &'static str) -> Result<Option<Value>, KubeError> {
        if !self.phase.limits_resources() {
            return Ok(None);
        }
        Ok(Some(resources(&self.service(service)?.resources)))
    }
}

/// An object name for a topic: lowercase, anything but letters, digits and `-` becomes `-`
/// (the real name stays in `spec.topicName`).
fn dns_label_of(name: &str) -> String {
    let mapped: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    mapped.trim_matches('-').to_string()
}

/// Kubernetes quantities for a service's limits.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "cpus is validated > 0 and not NaN (settings::validate); `as` saturates for absurd counts"
)]
fn resources(r: &Resources) -> Value {
    let millis = (r.cpus * 1000.0).round() as u64;
    let cpu = if millis.is_multiple_of(1000) {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    };
    let quantity = serde_json::json!({ "cpu": cpu, "memory": format!("{}Mi", r.memory_mb) });
    serde_json::json!({ "requests": quantity, "limits": quantity })
}
