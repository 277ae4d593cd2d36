//! Rendering: stack settings + validated secrets + phase → the files each service mounts.
//!
//! [`plan`] is pure (same inputs, byte-identical output) and its [`RenderPlan`] is handed forward
//! to `up`, which mounts the contents it holds; [`write`] puts a plan on disk atomically,
//! rewriting only files whose bytes changed and removing files the phase no longer has, and reports
//! which services saw a change so `up` can restart exactly those.

pub mod escape;
pub mod layout;
mod templates;
mod write;

use std::io;
use std::path::PathBuf;

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::secrets::SecretSet;
use crate::settings::{ClickHouseRole, KafkaNode, KafkaRole, Phase, Principal, RestApi, Settings};

pub use layout::{FileId, RENDER_DIR};
pub use templates::{TEMPLATES_DIR, TemplateOrigin, TemplateSet};
pub use write::{FileChange, WriteReport, WrittenFile, write};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "{path} is missing: the project's templates/ directory must hold every template (restore it with `git checkout -- templates`, or remove templates/ to use the built-in set)"
    )]
    MissingTemplate { path: PathBuf },
    #[error("template {template}: {message}")]
    Template { template: String, message: String },
    #[error("{path} is not rendered at phase {phase}")]
    NotInPhase { path: &'static str, phase: Phase },
    #[error("no secret loaded for principal {0}; run `stackctl init-secrets`")]
    MissingSecret(String),
    // The cause is the error source; anyhow prints it after this message.
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

/// A file to put on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub id: FileId,
    /// Path relative to the render directory.
    pub path: PathBuf,
    /// The service that mounts it: for a per-node file, that node's service (`kafka-2`).
    pub service: String,
    /// For a per-node file: the Kafka node's index.
    pub node: Option<u16>,
    pub contents: String,
    pub secret: bool,
}

impl PlannedFile {
    pub fn mode(&self) -> u32 {
        if self.secret { 0o600 } else { 0o644 }
    }
}

/// Every file for one phase, in a stable order.
#[derive(Debug, Clone)]
pub struct RenderPlan {
    pub phase: Phase,
    pub files: Vec<PlannedFile>,
    /// Which template set made it.
    pub templates: TemplateOrigin,
}

impl RenderPlan {
    /// The rendered file `id`, when the phase has it (a per-node file: the first node's).
    pub fn get(&self, id: FileId) -> Option<&PlannedFile> {
        self.files.iter().find(|f| f.id == id)
    }

    /// The contents of `id` as the service of Kafka node `node` mounts it (`None`: a service
    /// that is no node, or a file that is the same on every node).
    pub fn contents_on(&self, id: FileId, node: Option<u16>) -> Result<&str, RenderError> {
        self.files
            .iter()
            .find(|f| f.id == id && (f.node.is_none() || f.node == node))
            .map(|f| f.contents.as_str())
            .ok_or(RenderError::NotInPhase {
                path: id.spec().path,
                phase: self.phase,
            })
    }

    /// The contents of `id`, or an error naming the file the phase lacks.
    pub fn contents(&self, id: FileId) -> Result<&str, RenderError> {
        self.get(id)
            .map(|f| f.contents.as_str())
            .ok_or(RenderError::NotInPhase {
                path: id.spec().path,
                phase: self.phase,
            })
    }
}

#[derive(Serialize)]
struct KafkaLogin {
    user: String,
    password: String,
}

#[derive(Serialize)]
struct ClickHouseLogin {
    role: &'static str,
    user: String,
    password: String,
    sha256: String,
}

/// A REST login in the forms its files need: plain (Connect's property file, 0400), an HTTP
/// basic-auth header value, and the digest Quarkus' embedded realm compares against.
#[derive(Serialize)]
struct RestLogin {
    user: String,
    password: String,
    /// `Basic base64(user:password)`.
    basic: String,
    /// hex SHA-256 of `user:Quarkus:password` (Quarkus embedded users, algorithm digest-sha-256).
    quarkus_digest: String,
}

fn rest_login(
    settings: &Settings,
    secrets: &SecretSet,
    api: RestApi,
) -> Result<RestLogin, RenderError> {
    use base64::Engine as _;
    let principal = settings.rest_principal(api);
    let user = principal.user().to_string();
    let password = secret_of(secrets, &principal)?;
    Ok(RestLogin {
        basic: format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        ),
        quarkus_digest: hex::encode(Sha256::digest(format!("{user}:Quarkus:{password}"))),
        user,
        password,
    })
}

fn secret_of(secrets: &SecretSet, principal: &Principal) -> Result<String, RenderError> {
    secrets
        .get(principal)
        .map(|s| s.expose().to_string())
        .ok_or_else(|| RenderError::MissingSecret(principal.id()))
}

fn kafka_login(
    settings: &Settings,
    secrets: &SecretSet,
    role: KafkaRole,
) -> Result<KafkaLogin, RenderError> {
    let principal = settings.kafka_principal(role);
    Ok(KafkaLogin {
        user: principal.user().to_string(),
        password: secret_of(secrets, &principal)?,
    })
}

fn clickhouse_login(
    settings: &Settings,
    secrets: &SecretSet,
    role: ClickHouseRole,
) -> Result<ClickHouseLogin, RenderError> {
    let principal = settings.clickhouse_principal(role);
    let password = secret_of(secrets, &principal)?;
    Ok(ClickHouseLogin {
        role: match role {
            ClickHouseRole::Admin => "admin",
            ClickHouseRole::Writer => "writer",
            ClickHouseRole::Readonly => "readonly",
        },
        user: principal.user().to_string(),
        sha256: hex::encode(Sha256::digest(password.as_bytes())),
        password,
    })
}

fn filter(
    f: fn(&str) -> Result<String, escape::EscapeError>,
) -> impl Fn(String) -> Result<String, minijinja::Error> + Send + Sync + 'static {
    move |value: String| {
        f(&value).map_err(|e| {
            minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
        })
    }
}

fn environment(templates: &TemplateSet) -> Result<Environment<'_>, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| template_error("(syntax)", &e))?;
    env.set_syntax(syntax);
    env.add_filter("jaas", filter(escape::jaas));
    env.add_filter("properties", filter(escape::properties));
    env.add_filter("xml", filter(escape::xml));
    env.add_filter("librdkafka", filter(escape::librdkafka));
    env.add_test("librdkafka_safe", |value: String| {
        escape::librdkafka_safe(&value)
    });
    for (name, source) in templates.sources() {
        env.add_template(name, source)
            .map_err(|e| template_error(name, &e))?;
    }
    Ok(env)
}

fn template_error(template: &str, e: &minijinja::Error) -> RenderError {
    // minijinja's message names the template line and the problem; never a rendered value.
    RenderError::Template {
        template: template.to_string(),
        message: e.to_string(),
    }
}

/// The ClickHouse schema (`clickhouse/schema.sql`) alone: it needs the settings, no secret, so
/// targets that take no secrets (Kubernetes) render it from the same template.
pub fn schema_sql(
    settings: &Settings,
    phase: Phase,
    templates: &TemplateSet,
) -> Result<String, RenderError> {
    let env = environment(templates)?;
    let name = "clickhouse/schema.sql.j2";
    let ctx = context! {
        caps => Value::from(Serde(phase.capabilities())),
        settings => Value::from(Serde(settings)),
    };
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| template_error(name, &e))
}

/// Renders every file of `phase` from `templates`. Pure: no I/O.
pub fn plan(
    settings: &Settings,
    secrets: &SecretSet,
    phase: Phase,
    templates: &TemplateSet,
) -> Result<RenderPlan, RenderError> {
    let env = environment(templates)?;
    let kafka_logins = KafkaRole::ALL
        .into_iter()
        .map(|role| kafka_login(settings, secrets, role))
        .collect::<Result<Vec<_>, _>>()?;
    let xml_grants = settings.clickhouse_supports_xml_grants();
    let base = context! {
        caps => Value::from(Serde(phase.capabilities())),
        settings => Value::from(Serde(settings)),
        xml_grants,
        ch_root => if xml_grants { "clickhouse" } else { "yandex" },
        kafka_logins => Value::from(Serde(&kafka_logins)),
        cluster => context! {
            voters => settings.kafka_quorum_voters(),
            internal_bootstrap => settings.kafka_internal_bootstrap(),
            external_bootstrap => settings.kafka_external_bootstrap(),
        },
        kafka => context! {
            admin => Value::from(Serde(kafka_login(settings, secrets, KafkaRole::Admin)?)),
            schema_registry => Value::from(Serde(kafka_login(settings, secrets, KafkaRole::SchemaRegistry)?)),
            connect => Value::from(Serde(kafka_login(settings, secrets, KafkaRole::Connect)?)),
            app => Value::from(Serde(kafka_login(settings, secrets, KafkaRole::App)?)),
        },
        rest => context! {
            connect => Value::from(Serde(rest_login(settings, secrets, RestApi::Connect)?)),
            schema_registry => Value::from(Serde(rest_login(settings, secrets, RestApi::SchemaRegistry)?)),
        },
        clickhouse => context! {
            admin => Value::from(Serde(clickhouse_login(settings, secrets, ClickHouseRole::Admin)?)),
            writer => Value::from(Serde(clickhouse_login(settings, secrets, ClickHouseRole::Writer)?)),
            readonly => Value::from(Serde(clickhouse_login(settings, secrets, ClickHouseRole::Readonly)?)),
        },
    };
    let mut files = Vec::new();
    let nodes = settings.kafka_nodes();
    for spec in layout::layout().filter(|s| s.exists_at(phase)) {
        let ctx = match (spec.client, spec.clickhouse) {
            (Some(role), _) => {
                context! { client => Value::from(Serde(kafka_login(settings, secrets, role)?)), ..base.clone() }
            }
            (None, Some(role)) => {
                context! { login => Value::from(Serde(clickhouse_login(settings, secrets, role)?)), ..base.clone() }
            }
            (None, None) => base.clone(),
        };
        let template = env
            .get_template(spec.template)
            .map_err(|e| template_error(spec.template, &e))?;
        // A per-node file is rendered once per node from the same template, with `node` set.
        let targets: Vec<Option<&KafkaNode>> = if spec.per_node {
            nodes.iter().map(Some).collect()
        } else {
            vec![None]
        };
        for node in targets {
            let ctx = match node {
                Some(n) => context! { node => Value::from(Serde(n)), ..ctx.clone() },
                None => ctx.clone(),
            };
            let contents = template
                .render(ctx)
                .map_err(|e| template_error(spec.template, &e))?;
            files.push(PlannedFile {
                id: spec.id,
                path: layout::node_path(&spec, node.map(|n| n.service.as_str()), nodes.len()),
                service: node
                    .map_or(spec.service, |n| n.service.as_str())
                    .to_string(),
                node: node.map(|n| n.index),
                contents,
                secret: spec.secret,
            });
        }
    }
    Ok(RenderPlan {
        phase,
        files,
        templates: templates.origin.clone(),
    })
}
