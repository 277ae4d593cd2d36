//! Rendering: stack settings + validated secrets + phase → the files each service mounts.
//!
//! [`plan`] is pure (same inputs, byte-identical output); [`write`] puts a plan on disk atomically,
//! rewriting only files whose bytes changed and removing files the phase no longer has, and reports
//! which services saw a change so `up` can restart exactly those.

pub mod escape;

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{ClickHouseRole, KafkaRole, MAX_PHASE, Principal, Settings};
use crate::fsutil::{ensure_dir, write_atomic};
use crate::secrets::SecretSet;

/// Default output directory for rendered files, relative to the project root (git-ignored).
pub const RENDER_DIR: &str = ".stackctl/rendered";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("phase {0} does not exist; choose 1 to {MAX_PHASE}")]
    Phase(u8),
    #[error("template {template}: {message}")]
    Template { template: String, message: String },
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

/// One template and where its output goes.
struct Spec {
    template: &'static str,
    source: &'static str,
    /// Output path relative to the render directory.
    out: &'static str,
    service: &'static str,
    /// Holds a credential (or a hash of one): written 0600.
    secret: bool,
    min_phase: u8,
    /// For client property files: which Kafka principal logs in.
    client: Option<KafkaRole>,
}

macro_rules! spec {
    ($template:literal, $out:literal, $service:literal, secret: $secret:expr, phase: $phase:expr) => {
        spec!($template, $out, $service, secret: $secret, phase: $phase, client: None)
    };
    ($template:literal, $out:literal, $service:literal, secret: $secret:expr, phase: $phase:expr, client: $client:expr) => {
        Spec {
            template: $template,
            source: include_str!(concat!("../../templates/", $template)),
            out: $out,
            service: $service,
            secret: $secret,
            min_phase: $phase,
            client: $client,
        }
    };
}

/// Templates only imported by others.
const PARTIALS: &[(&str, &str)] = &[(
    "kafka/_sasl_client.j2",
    include_str!("../../templates/kafka/_sasl_client.j2"),
)];

fn specs() -> Vec<Spec> {
    vec![
        spec!("kafka/server.properties.j2", "kafka/server.properties", "kafka", secret: true, phase: 1),
        spec!("kafka/client.properties.j2", "kafka/healthcheck.properties", "kafka", secret: true, phase: 1, client: Some(KafkaRole::Admin)),
        spec!("kafka/client.properties.j2", "clients/admin.properties", "clients", secret: true, phase: 1, client: Some(KafkaRole::Admin)),
        spec!("kafka/client.properties.j2", "clients/app.properties", "clients", secret: true, phase: 1, client: Some(KafkaRole::App)),
        spec!("schema-registry/application.properties.j2", "schema-registry/application.properties", "schema-registry", secret: true, phase: 1),
        spec!("connect/worker.properties.j2", "connect/worker.properties", "connect", secret: true, phase: 1),
        spec!("connect/clickhouse-sink.json.j2", "connect/clickhouse-sink.json", "connect", secret: false, phase: 1),
        spec!("connect/clickhouse-writer.properties.j2", "connect/secrets/clickhouse-writer.properties", "connect", secret: true, phase: 2),
        spec!("clickhouse/config.xml.j2", "clickhouse/config.d/stackctl.xml", "clickhouse", secret: false, phase: 1),
        spec!("clickhouse/users.xml.j2", "clickhouse/users.d/stackctl-users.xml", "clickhouse", secret: true, phase: 2),
        spec!("clickhouse/healthcheck.headers.j2", "clickhouse/healthcheck.headers", "clickhouse", secret: true, phase: 1),
        spec!("clickhouse/schema.sql.j2", "clickhouse/schema.sql", "clickhouse", secret: false, phase: 1),
    ]
}

/// A file to put on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Path relative to the render directory.
    pub path: PathBuf,
    pub service: &'static str,
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
    pub phase: u8,
    pub files: Vec<PlannedFile>,
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

fn environment() -> Result<Environment<'static>, RenderError> {
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
    for spec in specs() {
        env.add_template(spec.template, spec.source)
            .map_err(|e| template_error(spec.template, &e))?;
    }
    for (name, source) in PARTIALS {
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

/// Renders every file of `phase`. Pure: no I/O.
pub fn plan(
    settings: &Settings,
    secrets: &SecretSet,
    phase: u8,
) -> Result<RenderPlan, RenderError> {
    if !(1..=MAX_PHASE).contains(&phase) {
        return Err(RenderError::Phase(phase));
    }
    let env = environment()?;
    let kafka_logins = KafkaRole::ALL
        .into_iter()
        .map(|role| kafka_login(settings, secrets, role))
        .collect::<Result<Vec<_>, _>>()?;
    let xml_grants = settings.clickhouse_supports_xml_grants();
    let base = context! {
        phase,
        settings => Value::from(Serde(settings)),
        xml_grants,
        ch_root => if xml_grants { "clickhouse" } else { "yandex" },
        kafka_logins => Value::from(Serde(&kafka_logins)),
        kafka => context! {
            admin => Value::from(Serde(kafka_login(settings, secrets, KafkaRole::Admin)?)),
            schema_registry => Value::from(Serde(kafka_login(settings, secrets, KafkaRole::SchemaRegistry)?)),
            connect => Value::from(Serde(kafka_login(settings, secrets, KafkaRole::Connect)?)),
            app => Value::from(Serde(kafka_login(settings, secrets, KafkaRole::App)?)),
        },
        clickhouse => context! {
            admin => Value::from(Serde(clickhouse_login(settings, secrets, ClickHouseRole::Admin)?)),
            writer => Value::from(Serde(clickhouse_login(settings, secrets, ClickHouseRole::Writer)?)),
            readonly => Value::from(Serde(clickhouse_login(settings, secrets, ClickHouseRole::Readonly)?)),
        },
    };
    let mut files = Vec::new();
    for spec in specs().into_iter().filter(|s| phase >= s.min_phase) {
        let ctx = match spec.client {
            Some(role) => {
                context! { client => Value::from(Serde(kafka_login(settings, secrets, role)?)), ..base.clone() }
            }
            None => base.clone(),
        };
        let contents = env
            .get_template(spec.template)
            .and_then(|t| t.render(ctx))
            .map_err(|e| template_error(spec.template, &e))?;
        files.push(PlannedFile {
            path: PathBuf::from(spec.out),
            service: spec.service,
            contents,
            secret: spec.secret,
        });
    }
    Ok(RenderPlan { phase, files })
}

/// What happened to one file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileChange {
    Created,
    Updated,
    Unchanged,
    Removed,
}

#[derive(Debug, Clone, Serialize)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub service: String,
    pub change: FileChange,
    pub mode: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WriteReport {
    pub dir: PathBuf,
    pub phase: u8,
    pub files: Vec<WrittenFile>,
}

impl WriteReport {
    /// Services with at least one created, updated or removed file.
    pub fn changed_services(&self) -> BTreeSet<String> {
        self.files
            .iter()
            .filter(|f| f.change != FileChange::Unchanged)
            .map(|f| f.service.clone())
            .collect()
    }
}

/// Writes `plan` under `dir` (created 0700). Files whose bytes and mode are already right are not
/// touched (mtime kept); files from another phase that the plan lacks are removed.
pub fn write(plan: &RenderPlan, dir: &Path) -> Result<WriteReport, RenderError> {
    let io_err = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| RenderError::Io {
            action,
            path,
            source,
        }
    };
    ensure_dir(dir, 0o700).map_err(io_err("create", dir))?;
    let mut files = Vec::new();
    for file in &plan.files {
        let target = dir.join(&file.path);
        if let Some(parent) = target.parent() {
            ensure_dir(parent, 0o700).map_err(io_err("create", parent))?;
        }
        let change = match fs::read(&target) {
            Ok(existing) if existing == file.contents.as_bytes() => {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(&target)
                    .map_err(io_err("inspect", &target))?
                    .permissions()
                    .mode()
                    & 0o777;
                if mode == file.mode() {
                    FileChange::Unchanged
                } else {
                    fs::set_permissions(&target, fs::Permissions::from_mode(file.mode()))
                        .map_err(io_err("chmod", &target))?;
                    FileChange::Updated
                }
            }
            Ok(_) => FileChange::Updated,
            Err(e) if e.kind() == io::ErrorKind::NotFound => FileChange::Created,
            Err(e) => return Err(io_err("read", &target)(e)),
        };
        if matches!(change, FileChange::Created | FileChange::Updated) {
            write_atomic(&target, file.contents.as_bytes(), file.mode(), false)
                .map_err(io_err("write", &target))?;
        }
        files.push(WrittenFile {
            path: file.path.clone(),
            service: file.service.to_string(),
            change,
            mode: format!("{:04o}", file.mode()),
        });
    }
    // Files of another phase (e.g. users.d after going back to phase 1) must not stay mounted.
    for spec in specs() {
        let rel = PathBuf::from(spec.out);
        if plan.files.iter().any(|f| f.path == rel) {
            continue;
        }
        let target = dir.join(&rel);
        match fs::remove_file(&target) {
            Ok(()) => files.push(WrittenFile {
                path: rel,
                service: spec.service.to_string(),
                change: FileChange::Removed,
                mode: String::new(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &target)(e)),
        }
    }
    Ok(WriteReport {
        dir: dir.to_path_buf(),
        phase: plan.phase,
        files,
    })
}
