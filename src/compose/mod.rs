//! The typed model of `compose/docker-compose.yml`: the subset of Compose that stackctl
//! implements, with `${VAR}` interpolation from the stack settings. Keys outside that subset are
//! refused with their path rather than silently ignored; `x-` extensions are allowed.

mod interpolate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use interpolate::{interpolate, variables};

use crate::config::Settings;

/// Where the compose file lives, relative to the project root.
pub const COMPOSE_FILE: &str = "compose/docker-compose.yml";

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: String,
    services: BTreeMap<String, RawService>,
    #[serde(default)]
    networks: BTreeMap<String, serde_norway::Value>,
    #[serde(default)]
    volumes: BTreeMap<String, serde_norway::Value>,
    #[serde(default)]
    secrets: BTreeMap<String, RawSecretDef>,
    #[serde(rename = "x-stackctl-limits-phase", default)]
    limits_phase: Option<u8>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    image: String,
    #[serde(default)]
    build: Option<RawBuild>,
    #[serde(default)]
    command: Option<Vec<String>>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    secrets: Vec<RawSecretRef>,
    #[serde(default)]
    volumes: Vec<String>,
    #[serde(default)]
    ports: Vec<String>,
    #[serde(default)]
    healthcheck: Option<RawHealthcheck>,
    #[serde(default)]
    depends_on: BTreeMap<String, RawDependency>,
    #[serde(default)]
    deploy: Option<RawDeploy>,
    #[serde(default)]
    networks: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuild {
    context: String,
    #[serde(default)]
    args: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecretRef {
    source: String,
    target: String,
    uid: String,
    gid: String,
    mode: RawMode,
}

/// A file mode as Compose writes it: `0400` (YAML 1.1 octal, which a YAML 1.2 parser reads as a
/// string) or an already-converted integer.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawMode {
    Int(u32),
    Text(String),
}

impl RawMode {
    fn value(&self) -> Option<u32> {
        match self {
            RawMode::Int(n) => Some(*n),
            RawMode::Text(t) => u32::from_str_radix(t.trim_start_matches("0o"), 8).ok(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecretDef {
    file: String,
    #[serde(rename = "x-stackctl-phase", default)]
    phase: Option<u8>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealthcheck {
    test: Vec<String>,
    interval: String,
    timeout: String,
    retries: u32,
    start_period: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDependency {
    condition: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeploy {
    resources: RawResources,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResources {
    limits: RawLimits,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    cpus: String,
    memory: String,
}

/// A file copied into a container before it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMount {
    /// Secret name in the compose file.
    pub name: String,
    /// Absolute path on the host.
    pub source: PathBuf,
    /// Path inside the container.
    pub target: String,
    pub uid: u64,
    pub gid: u64,
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    /// Volume name in the compose file (the engine name is prefixed with the project).
    pub volume: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval_ns: i64,
    pub timeout_ns: i64,
    pub retries: i64,
    pub start_period_ns: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// In units of 1e-9 CPUs (Docker's NanoCPUs).
    pub nano_cpus: i64,
    pub memory_bytes: i64,
}

/// One service, resolved for a phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    pub image: String,
    /// Build context directory, when the image has a recipe (and the settings did not turn it off).
    pub build_context: Option<PathBuf>,
    pub build_args: BTreeMap<String, String>,
    pub command: Option<Vec<String>>,
    pub environment: BTreeMap<String, String>,
    pub files: Vec<FileMount>,
    pub volumes: Vec<VolumeMount>,
    pub ports: Vec<PortBinding>,
    pub healthcheck: Option<Healthcheck>,
    /// Services that must be healthy before this one starts.
    pub depends_on: Vec<String>,
    pub limits: Option<Limits>,
    pub networks: Vec<String>,
}

/// The stack as the engine should run it at one phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    pub project: String,
    pub phase: u8,
    pub services: Vec<Service>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

impl Stack {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// Services grouped in start order: each group depends only on earlier groups, so the
    /// members of a group can start concurrently.
    pub fn start_waves(&self) -> Vec<Vec<&Service>> {
        let mut done: Vec<&str> = Vec::new();
        let mut waves = Vec::new();
        while done.len() < self.services.len() {
            let wave: Vec<&Service> = self
                .services
                .iter()
                .filter(|s| !done.contains(&s.name.as_str()))
                .filter(|s| s.depends_on.iter().all(|d| done.contains(&d.as_str())))
                .collect();
            if wave.is_empty() {
                // Cycles are rejected at load time; this is unreachable for a loaded Stack.
                break;
            }
            done.extend(wave.iter().map(|s| s.name.as_str()));
            waves.push(wave);
        }
        waves
    }
}

fn invalid(path: &Path, message: impl Into<String>) -> ComposeError {
    ComposeError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn parse_duration_ns(value: &str) -> Option<i64> {
    let (number, unit) = value.split_at(value.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = number.parse().ok()?;
    let factor = match unit {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

fn parse_memory(value: &str) -> Option<i64> {
    let (number, unit) = value.split_at(value.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = number.parse().ok()?;
    let factor = match unit.to_ascii_lowercase().as_str() {
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

fn from_value<T: DeserializeOwned>(
    value: serde_norway::Value,
    path: &Path,
) -> Result<T, ComposeError> {
    // The error names where in the file the problem is (e.g. `services.kafka: unknown field …`).
    serde_path_to_error::deserialize(value)
        .map_err(|e| invalid(path, format!("{}: {}", e.path(), e.inner())))
}

/// Reads `<root>/compose/docker-compose.yml` and resolves it for `phase` with `settings`.
pub fn load(root: &Path, settings: &Settings, phase: u8) -> Result<Stack, ComposeError> {
    let path = root.join(COMPOSE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| ComposeError::Read {
        path: path.clone(),
        source,
    })?;
    parse(&text, &path, settings, phase)
}

/// Parses compose text; `path` names the file in errors and anchors relative paths.
pub fn parse(
    text: &str,
    path: &Path,
    settings: &Settings,
    phase: u8,
) -> Result<Stack, ComposeError> {
    let vars = variables(settings);
    let interpolated = interpolate(text, &vars).map_err(|m| invalid(path, m))?;
    let mut value: serde_norway::Value =
        serde_norway::from_str(&interpolated).map_err(|e| invalid(path, e.to_string()))?;
    strip_extensions(&mut value, &["x-stackctl-limits-phase", "x-stackctl-phase"]);
    let raw: RawFile = from_value(value, path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let limits_phase = raw.limits_phase.unwrap_or(1);

    let mut services = Vec::new();
    for (name, svc) in &raw.services {
        let at = |what: &str| format!("services.{name}.{what}");
        let mut files = Vec::new();
        for s in &svc.secrets {
            let def = raw.secrets.get(&s.source).ok_or_else(|| {
                invalid(
                    path,
                    format!(
                        "{}: secret `{}` is not defined under top-level `secrets`",
                        at("secrets"),
                        s.source
                    ),
                )
            })?;
            if def.phase.is_some_and(|p| phase < p) {
                continue;
            }
            let uid = s.uid.parse().map_err(|_| {
                invalid(
                    path,
                    format!("{}: uid `{}` is not a number", at("secrets"), s.uid),
                )
            })?;
            let gid = s.gid.parse().map_err(|_| {
                invalid(
                    path,
                    format!("{}: gid `{}` is not a number", at("secrets"), s.gid),
                )
            })?;
            let mode = s.mode.value().ok_or_else(|| {
                invalid(
                    path,
                    format!(
                        "{}: mode of `{}` is not an octal mode like 0400",
                        at("secrets"),
                        s.source
                    ),
                )
            })?;
            if mode & 0o077 != 0 {
                return Err(invalid(
                    path,
                    format!(
                        "{}: mode {mode:04o} for `{}` is readable by group or others; use 0400",
                        at("secrets"),
                        s.source
                    ),
                ));
            }
            files.push(FileMount {
                name: s.source.clone(),
                source: base.join(&def.file),
                target: s.target.clone(),
                uid,
                gid,
                mode,
            });
        }
        let mut volumes = Vec::new();
        for v in &svc.volumes {
            let (volume, target) = v.split_once(':').ok_or_else(|| {
                invalid(
                    path,
                    format!("{}: `{v}` must be VOLUME:/path", at("volumes")),
                )
            })?;
            if !raw.volumes.contains_key(volume) {
                return Err(invalid(
                    path,
                    format!(
                        "{}: volume `{volume}` is not defined under top-level `volumes` (bind mounts are not supported: secrets go through `secrets:`)",
                        at("volumes")
                    ),
                ));
            }
            volumes.push(VolumeMount {
                volume: volume.to_string(),
                target: target.to_string(),
            });
        }
        let mut ports = Vec::new();
        for p in &svc.ports {
            let parts: Vec<&str> = p.split(':').collect();
            let parsed = match parts.as_slice() {
                [ip, host, container] => {
                    host.parse()
                        .ok()
                        .zip(container.parse().ok())
                        .map(|(h, c)| PortBinding {
                            host_ip: ip.to_string(),
                            host_port: h,
                            container_port: c,
                        })
                }
                _ => None,
            };
            ports.push(parsed.ok_or_else(|| {
                invalid(
                    path,
                    format!("{}: `{p}` must be IP:HOST_PORT:CONTAINER_PORT", at("ports")),
                )
            })?);
        }
        let healthcheck = match &svc.healthcheck {
            None => None,
            Some(h) => {
                let d = |v: &str, key: &str| {
                    parse_duration_ns(v).ok_or_else(|| {
                        invalid(
                            path,
                            format!(
                                "{}: `{v}` is not a duration like 5s, 500ms or 2m",
                                at(&format!("healthcheck.{key}"))
                            ),
                        )
                    })
                };
                if !matches!(
                    h.test.first().map(String::as_str),
                    Some("CMD" | "CMD-SHELL")
                ) {
                    return Err(invalid(
                        path,
                        format!(
                            "{}: must start with CMD or CMD-SHELL",
                            at("healthcheck.test")
                        ),
                    ));
                }
                Some(Healthcheck {
                    test: h.test.clone(),
                    interval_ns: d(&h.interval, "interval")?,
                    timeout_ns: d(&h.timeout, "timeout")?,
                    retries: i64::from(h.retries),
                    start_period_ns: d(&h.start_period, "start_period")?,
                })
            }
        };
        let mut depends_on = Vec::new();
        for (dep, cond) in &svc.depends_on {
            if cond.condition != "service_healthy" {
                return Err(invalid(
                    path,
                    format!(
                        "{}: condition `{}` is not supported; use service_healthy",
                        at(&format!("depends_on.{dep}")),
                        cond.condition
                    ),
                ));
            }
            if !raw.services.contains_key(dep) {
                return Err(invalid(
                    path,
                    format!("{}: unknown service `{dep}`", at("depends_on")),
                ));
            }
            depends_on.push(dep.clone());
        }
        let limits = match &svc.deploy {
            Some(d) if phase >= limits_phase => {
                let cpus: f64 = d.resources.limits.cpus.parse().map_err(|_| {
                    invalid(
                        path,
                        format!(
                            "{}: `{}` is not a number",
                            at("deploy.resources.limits.cpus"),
                            d.resources.limits.cpus
                        ),
                    )
                })?;
                let memory = parse_memory(&d.resources.limits.memory).ok_or_else(|| {
                    invalid(
                        path,
                        format!(
                            "{}: `{}` is not a size like 512m or 1g",
                            at("deploy.resources.limits.memory"),
                            d.resources.limits.memory
                        ),
                    )
                })?;
                Some(Limits {
                    nano_cpus: (cpus * 1e9) as i64,
                    memory_bytes: memory,
                })
            }
            _ => None,
        };
        for n in &svc.networks {
            if !raw.networks.contains_key(n) {
                return Err(invalid(
                    path,
                    format!(
                        "{}: network `{n}` is not defined under top-level `networks`",
                        at("networks")
                    ),
                ));
            }
        }
        let build_enabled = settings.services.get(name).is_none_or(|s| s.build);
        services.push(Service {
            name: name.clone(),
            image: svc.image.clone(),
            build_context: svc
                .build
                .as_ref()
                .filter(|_| build_enabled)
                .map(|b| base.join(&b.context)),
            build_args: svc
                .build
                .as_ref()
                .map(|b| b.args.clone())
                .unwrap_or_default(),
            command: svc.command.clone(),
            environment: svc.environment.clone(),
            files,
            volumes,
            ports,
            healthcheck,
            depends_on,
            limits,
            networks: svc.networks.clone(),
        });
    }
    let stack = Stack {
        project: raw.name.clone(),
        phase,
        services,
        networks: raw.networks.keys().cloned().collect(),
        volumes: raw.volumes.keys().cloned().collect(),
    };
    let ordered: usize = stack.start_waves().iter().map(Vec::len).sum();
    if ordered != stack.services.len() {
        return Err(invalid(path, "depends_on has a cycle"));
    }
    Ok(stack)
}

/// Drops user `x-…` extension keys (Compose's escape hatch) wherever they occur, keeping
/// stackctl's own, which the model reads. Every other unknown key is then refused by the model.
fn strip_extensions(value: &mut serde_norway::Value, ours: &[&str]) {
    match value {
        serde_norway::Value::Mapping(map) => {
            let keys: Vec<serde_norway::Value> = map
                .keys()
                .filter(|k| {
                    k.as_str()
                        .is_some_and(|k| k.starts_with("x-") && !ours.contains(&k))
                })
                .cloned()
                .collect();
            for k in keys {
                map.remove(&k);
            }
            for (_, v) in map.iter_mut() {
                strip_extensions(v, ours);
            }
        }
        serde_norway::Value::Sequence(seq) => {
            for v in seq {
                strip_extensions(v, ours);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (Settings, String, PathBuf) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let settings = Settings::load(root).expect("settings");
        let path = root.join(COMPOSE_FILE);
        let text = std::fs::read_to_string(&path).expect("compose file");
        (settings, text, path)
    }

    #[test]
    fn start_order_puts_kafka_and_clickhouse_first() {
        let (settings, text, path) = repo();
        let stack = parse(&text, &path, &settings, 4).expect("parse");
        let waves: Vec<Vec<&str>> = stack
            .start_waves()
            .iter()
            .map(|w| w.iter().map(|s| s.name.as_str()).collect())
            .collect();
        assert_eq!(
            waves,
            vec![
                vec!["clickhouse", "kafka"],
                vec!["connect", "schema-registry"]
            ]
        );
    }

    #[test]
    fn phase_decides_mounted_files_and_limits() {
        let (settings, text, path) = repo();
        let p1 = parse(&text, &path, &settings, 1).expect("parse");
        let p4 = parse(&text, &path, &settings, 4).expect("parse");
        let files = |s: &Stack| s.service("clickhouse").map(|c| c.files.len()).unwrap_or(0);
        assert_eq!(files(&p1), 2, "no users.d before phase 2");
        assert_eq!(files(&p4), 3);
        assert!(p1.services.iter().all(|s| s.limits.is_none()));
        assert!(p4.services.iter().all(|s| s.limits.is_some()));
        let kafka = p4.service("kafka").expect("kafka");
        assert_eq!(
            kafka.limits.as_ref().map(|l| l.memory_bytes),
            Some(1024 << 20)
        );
        assert_eq!(kafka.ports[0].host_ip, "127.0.0.1");
        assert_eq!(kafka.files[0].mode, 0o400);
    }

    #[test]
    fn unsupported_keys_are_refused_by_name() {
        let (settings, text, path) = repo();
        let text = text.replacen(
            "    command: [\"broker\"]\n",
            "    command: [\"broker\"]\n    privileged: true\n",
            1,
        );
        let err = parse(&text, &path, &settings, 4).unwrap_err().to_string();
        assert!(
            err.contains("services.kafka.privileged: unknown field `privileged`"),
            "{err}"
        );
    }

    #[test]
    fn user_extensions_are_allowed_and_readable_modes_refused() {
        let (settings, text, path) = repo();
        let with_ext = text.replacen("services:\n", "x-note: {a: 1}\nservices:\n", 1);
        assert!(parse(&with_ext, &path, &settings, 4).is_ok());
        let open = text.replacen("mode: 0400", "mode: 0444", 1);
        let err = parse(&open, &path, &settings, 4).unwrap_err().to_string();
        assert!(err.contains("readable by group or others"), "{err}");
    }
}
