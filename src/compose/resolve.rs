//! From the compose file as written to the stack the engine runs at one phase: each part of a
//! service is resolved by its own function, and every problem names its path in the file.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::raw::{RawFile, RawHealthcheck, RawSecretRef, RawService, strip_extensions};
use super::{
    ComposeError, FileMount, Healthcheck, Limits, LogConfig, PortBinding, RENDERED_VAR, Service,
    Stack, VolumeMount, interpolate, rendered_dir_from_compose, variables,
};
use crate::render::layout;
use crate::settings::{Phase, RestartPolicy, Settings};

fn invalid(path: &Path, message: impl Into<String>) -> ComposeError {
    ComposeError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn from_value<T: DeserializeOwned>(
    value: serde_norway::Value,
    path: &Path,
) -> Result<T, ComposeError> {
    // The error names where in the file the problem is (e.g. `services.kafka: unknown field …`).
    serde_path_to_error::deserialize(value)
        .map_err(|e| invalid(path, format!("{}: {}", e.path(), e.inner())))
}

/// Parses compose text; `path` names the file in errors and anchors relative paths.
pub fn parse(
    text: &str,
    path: &Path,
    settings: &Settings,
    phase: Phase,
) -> Result<Stack, ComposeError> {
    let vars = variables(settings);
    let interpolated = interpolate(text, &vars).map_err(|m| invalid(path, m))?;
    let mut value: serde_norway::Value =
        serde_norway::from_str(&interpolated).map_err(|e| invalid(path, e.to_string()))?;
    strip_extensions(&mut value).map_err(|m| invalid(path, m))?;
    let raw: RawFile = from_value(value, path)?;
    let mut services = Vec::new();
    for (name, svc) in &raw.services {
        let at = ServicePath { file: path, name };
        services.push(resolve_service(&raw, svc, &at, settings, phase)?);
    }
    let stack = super::nodes::expand_kafka(
        Stack {
            project: raw.name.clone(),
            phase,
            services,
            networks: raw.networks.keys().cloned().collect(),
            volumes: raw.volumes.keys().cloned().collect(),
        },
        settings,
    );
    let ordered: usize = stack.start_waves().iter().map(Vec::len).sum();
    if ordered != stack.services.len() {
        return Err(invalid(path, "depends_on has a cycle"));
    }
    Ok(stack)
}

/// Names a key of one service in errors: `services.<name>.<key>`.
struct ServicePath<'a> {
    file: &'a Path,
    name: &'a str,
}

impl ServicePath<'_> {
    fn error(&self, key: &str, problem: impl std::fmt::Display) -> ComposeError {
        invalid(
            self.file,
            format!("services.{}.{key}: {problem}", self.name),
        )
    }

    fn base(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }
}

fn resolve_service(
    raw: &RawFile,
    svc: &RawService,
    at: &ServicePath<'_>,
    settings: &Settings,
    phase: Phase,
) -> Result<Service, ComposeError> {
    for n in &svc.networks {
        if !raw.networks.contains_key(n) {
            return Err(at.error(
                "networks",
                format!("network `{n}` is not defined under top-level `networks`"),
            ));
        }
    }
    let build_enabled = settings.services.get(at.name).is_none_or(|s| s.build);
    let limits = match &svc.deploy {
        Some(d) if phase.limits_resources() => Some(resolve_limits(
            &d.resources.limits.cpus,
            &d.resources.limits.memory,
            at,
        )?),
        _ => None,
    };
    Ok(Service {
        name: at.name.to_string(),
        node: None,
        image: svc.image.clone(),
        build_context: svc
            .build
            .as_ref()
            .filter(|_| build_enabled)
            .map(|b| at.base().join(&b.context)),
        build_args: svc
            .build
            .as_ref()
            .map(|b| b.args.clone())
            .unwrap_or_default(),
        command: svc.command.clone(),
        environment: svc.environment.clone(),
        files: resolve_files(raw, &svc.secrets, at, phase)?,
        volumes: resolve_volumes(raw, &svc.volumes, at)?,
        ports: resolve_ports(&svc.ports, at)?,
        healthcheck: svc
            .healthcheck
            .as_ref()
            .map(|h| resolve_healthcheck(h, at))
            .transpose()?,
        depends_on: resolve_depends_on(raw, svc, at)?,
        limits,
        restart: svc
            .restart
            .as_deref()
            .map(|r| {
                RestartPolicy::parse(r).ok_or_else(|| {
                    at.error(
                        "restart",
                        format!("`{r}` is not one of no, always, unless-stopped, on-failure"),
                    )
                })
            })
            .transpose()?,
        logging: svc.logging.as_ref().map(|l| LogConfig {
            driver: l.driver.clone(),
            options: l.options.clone(),
        }),
        networks: svc.networks.clone(),
    })
}

/// Secrets are rendered files: `file:` must name one of the layout (under `${STACKCTL_RENDERED}`);
/// a file the phase does not render is not mounted.
fn resolve_files(
    raw: &RawFile,
    refs: &[RawSecretRef],
    at: &ServicePath<'_>,
    phase: Phase,
) -> Result<Vec<FileMount>, ComposeError> {
    let rendered_prefix = format!("{}/", rendered_dir_from_compose());
    let mut files = Vec::new();
    for s in refs {
        let def = raw.secrets.get(&s.source).ok_or_else(|| {
            at.error(
                "secrets",
                format!(
                    "secret `{}` is not defined under top-level `secrets`",
                    s.source
                ),
            )
        })?;
        let spec = def
            .file
            .strip_prefix(&rendered_prefix)
            .and_then(|rel| layout::by_path(Path::new(rel)))
            .ok_or_else(|| {
                invalid(
                    at.file,
                    format!(
                        "secrets.{}.file: `{}` is not a file stackctl renders; write ${{{RENDERED_VAR}}}/ followed by one of: {}",
                        s.source,
                        def.file,
                        layout::layout().map(|f| f.path).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
        if !spec.exists_at(phase) {
            continue;
        }
        let uid = s
            .uid
            .parse()
            .map_err(|_| at.error("secrets", format!("uid `{}` is not a number", s.uid)))?;
        let gid = s
            .gid
            .parse()
            .map_err(|_| at.error("secrets", format!("gid `{}` is not a number", s.gid)))?;
        let mode = s.mode.value().ok_or_else(|| {
            at.error(
                "secrets",
                format!("mode of `{}` is not an octal mode like 0400", s.source),
            )
        })?;
        if mode & 0o077 != 0 {
            return Err(at.error(
                "secrets",
                format!(
                    "mode {mode:04o} for `{}` is readable by group or others; use 0400",
                    s.source
                ),
            ));
        }
        files.push(FileMount {
            name: s.source.clone(),
            file: spec.id,
            target: s.target.clone(),
            uid,
            gid,
            mode,
        });
    }
    Ok(files)
}

fn resolve_volumes(
    raw: &RawFile,
    volumes: &[String],
    at: &ServicePath<'_>,
) -> Result<Vec<VolumeMount>, ComposeError> {
    volumes
        .iter()
        .map(|v| {
            let (volume, target) = v
                .split_once(':')
                .ok_or_else(|| at.error("volumes", format!("`{v}` must be VOLUME:/path")))?;
            if !raw.volumes.contains_key(volume) {
                return Err(at.error(
                    "volumes",
                    format!(
                        "volume `{volume}` is not defined under top-level `volumes` (bind mounts are not supported: secrets go through `secrets:`)"
                    ),
                ));
            }
            Ok(VolumeMount {
                volume: volume.to_string(),
                target: target.to_string(),
            })
        })
        .collect()
}

fn resolve_ports(ports: &[String], at: &ServicePath<'_>) -> Result<Vec<PortBinding>, ComposeError> {
    ports
        .iter()
        .map(|p| {
            let fields: Vec<&str> = p.split(':').collect();
            let parsed = match fields.as_slice() {
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
            parsed.ok_or_else(|| {
                at.error(
                    "ports",
                    format!("`{p}` must be IP:HOST_PORT:CONTAINER_PORT"),
                )
            })
        })
        .collect()
}

fn resolve_healthcheck(
    h: &RawHealthcheck,
    at: &ServicePath<'_>,
) -> Result<Healthcheck, ComposeError> {
    let duration = |v: &str, key: &str| {
        parse_duration_ns(v).ok_or_else(|| {
            at.error(
                &format!("healthcheck.{key}"),
                format!("`{v}` is not a duration like 5s, 500ms or 2m"),
            )
        })
    };
    if !matches!(
        h.test.first().map(String::as_str),
        Some("CMD" | "CMD-SHELL")
    ) {
        return Err(at.error("healthcheck.test", "must start with CMD or CMD-SHELL"));
    }
    Ok(Healthcheck {
        test: h.test.clone(),
        interval_ns: duration(&h.interval, "interval")?,
        timeout_ns: duration(&h.timeout, "timeout")?,
        retries: i64::from(h.retries),
        start_period_ns: duration(&h.start_period, "start_period")?,
    })
}

fn resolve_depends_on(
    raw: &RawFile,
    svc: &RawService,
    at: &ServicePath<'_>,
) -> Result<Vec<String>, ComposeError> {
    let mut depends_on = Vec::new();
    for (dep, cond) in &svc.depends_on {
        if cond.condition != "service_healthy" {
            return Err(at.error(
                &format!("depends_on.{dep}"),
                format!(
                    "condition `{}` is not supported; use service_healthy",
                    cond.condition
                ),
            ));
        }
        if !raw.services.contains_key(dep) {
            return Err(at.error("depends_on", format!("unknown service `{dep}`")));
        }
        depends_on.push(dep.clone());
    }
    Ok(depends_on)
}

/// Docker's NanoCpus for a CPU count.
#[allow(
    clippy::cast_possible_truncation,
    reason = "cpus is > 0 (compose and settings validation); a fraction of a nanoCPU is meaningless, and `as` saturates at i64::MAX for absurd counts"
)]
pub(crate) fn nano_cpus(cpus: f64) -> i64 {
    (cpus * 1e9) as i64
}

fn resolve_limits(cpus: &str, memory: &str, at: &ServicePath<'_>) -> Result<Limits, ComposeError> {
    let cpus: f64 = cpus
        .parse()
        .ok()
        .filter(|c: &f64| c.is_finite() && *c > 0.0)
        .ok_or_else(|| {
            at.error(
                "deploy.resources.limits.cpus",
                format!("`{cpus}` is not a positive number"),
            )
        })?;
    let memory_bytes = parse_memory(memory).ok_or_else(|| {
        at.error(
            "deploy.resources.limits.memory",
            format!("`{memory}` is not a size like 512m or 1g"),
        )
    })?;
    Ok(Limits {
        nano_cpus: nano_cpus(cpus),
        memory_bytes,
    })
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
