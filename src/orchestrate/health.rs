//! Waiting for `service_healthy` by polling the engine, and explaining failures.

use std::time::{Duration, Instant};

use super::{UpError, health_bound};
use crate::compose::Service;
use crate::engine::Engine;
use crate::engine::containers::Health;
use crate::engine::images::Progress;
use crate::secrets::Redactor;

const POLL: Duration = Duration::from_millis(500);
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Polls until the container is healthy (or running, without a healthcheck); fails fast when it
/// exits or turns unhealthy, with its last log lines (redacted) and the likely cause.
pub async fn wait_healthy(
    engine: &Engine,
    service: &Service,
    id: &str,
    redactor: &Redactor,
    progress: &dyn Progress,
) -> Result<String, UpError> {
    let bound = health_bound(service);
    let started = Instant::now();
    let mut last_report = Instant::now();
    loop {
        match engine.health(id).await? {
            Health::Healthy => return Ok("healthy".into()),
            Health::Running => return Ok("running".into()),
            Health::Starting => {}
            Health::Unhealthy(probe) => {
                return Err(failure(
                    engine,
                    service,
                    id,
                    redactor,
                    &format!(
                        "turned unhealthy (last probe: {})",
                        first_line(&redactor.redact(&probe))
                    ),
                )
                .await);
            }
            Health::Exited(code) => {
                return Err(failure(
                    engine,
                    service,
                    id,
                    redactor,
                    &format!("exited with code {code}"),
                )
                .await);
            }
        }
        if started.elapsed() > bound {
            return Err(failure(
                engine,
                service,
                id,
                redactor,
                &format!("was not healthy within {} s", bound.as_secs()),
            )
            .await);
        }
        if last_report.elapsed() >= REPORT_EVERY {
            progress.line(
                &service.name,
                &format!("waiting for health ({} s)", started.elapsed().as_secs()),
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn failure(
    engine: &Engine,
    service: &Service,
    id: &str,
    redactor: &Redactor,
    what: &str,
) -> UpError {
    let logs = engine.logs(id, Some(25)).await.unwrap_or_default();
    let logs = redactor.redact(&logs);
    let cause = likely_cause(&logs, service);
    let tail: Vec<&str> = logs
        .lines()
        .rev()
        .take(15)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    UpError::Service {
        service: service.name.clone(),
        message: format!(
            "{what}.{}\n  last log lines (`stackctl logs {}` for more):\n    {}",
            cause
                .map(|c| format!(" Likely cause: {c}"))
                .unwrap_or_default(),
            service.name,
            tail.join("\n    ")
        ),
    }
}

/// Recognises the common reasons a service of this stack fails.
pub fn likely_cause(logs: &str, service: &Service) -> Option<String> {
    let rules: &[(&str, &str)] = &[
        (
            "Authentication failed",
            "a Kafka login was refused: the rendered credentials and the broker's JAAS disagree; run `stackctl render` then `stackctl up` so both come from secrets/",
        ),
        (
            "SaslAuthenticationException",
            "a Kafka login was refused: re-render and restart (`stackctl up`)",
        ),
        (
            "Access to file denied",
            "the service user cannot read a mounted file: check uid/gid/mode of its `secrets:` entries in compose/docker-compose.yml",
        ),
        (
            "AccessDeniedException",
            "the service user cannot read a mounted file: check uid/gid/mode in compose/docker-compose.yml",
        ),
        (
            "UNKNOWN_TOPIC_OR_PARTITION",
            "a topic it needs does not exist (auto-creation is off at phase 4): check the topics in configs/stack.yaml",
        ),
        (
            "OutOfMemoryError",
            "the JVM ran out of memory: raise services.<name>.resources.memory_mb in configs/stack.yaml",
        ),
        (
            "Address already in use",
            "a port inside the container is taken",
        ),
        (
            "KAFKA_CLUSTER_ID",
            "kafka.cluster_id in configs/stack.yaml is missing or malformed",
        ),
        (
            "meta.properties",
            "the data volume belongs to another cluster id: `stackctl down --volumes` resets it",
        ),
    ];
    let _ = service;
    rules
        .iter()
        .find(|(needle, _)| logs.contains(needle))
        .map(|(_, cause)| cause.to_string())
}

/// Turns an engine error from starting a container into advice (most often: a host port in use).
pub fn explain_start_failure(error: &str, service: &Service) -> String {
    if error.contains("address already in use") || error.contains("port is already allocated") {
        let ports: Vec<String> = service
            .ports
            .iter()
            .map(|p| format!("{}:{}", p.host_ip, p.host_port))
            .collect();
        return format!(
            "host port {} is already in use by another process; free it or change the host port for {} in configs/stack.yaml",
            ports.join(", "),
            service.name
        );
    }
    format!("could not start: {}", first_line(error))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}
