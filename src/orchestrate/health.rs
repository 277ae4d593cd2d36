//! Waiting for `service_healthy` by polling the engine, and explaining failures.

use std::time::{Duration, Instant};

use super::{UpError, health_bound};
use crate::compose::Service;
use crate::engine::ContainerEngine;
use crate::engine::containers::Health;
use crate::engine::health_probe::HealthProbe;
use crate::progress::Progress;
use crate::secrets::Redactor;
use crate::settings::ServiceKind;

const POLL: Duration = Duration::from_millis(500);
/// How long after one run of the health command ends `up` runs it again while the engine still
/// says "starting" (Kafka's command starts a JVM: not more often than this).
const PROBE_EVERY: Duration = Duration::from_secs(2);
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Polls until the container is healthy (or running, without a healthcheck); fails fast when it
/// exits or turns unhealthy, with its last log lines (redacted) and the likely cause.
pub async fn wait_healthy<E: ContainerEngine>(
    engine: &E,
    service: &Service,
    id: &str,
    redactor: &Redactor,
    progress: &dyn Progress,
) -> Result<String, UpError> {
    let bound = health_bound(service);
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut last_probe: Option<Instant> = None;
    loop {
        match engine.health(id).await? {
            Health::Healthy => return Ok("healthy".into()),
            Health::Running => return Ok("running".into()),
            Health::Starting => {
                if last_probe.is_none_or(|at| at.elapsed() >= PROBE_EVERY) {
                    // The engine's first check is an interval away: run the same command now.
                    // An exec error or a failing command only means "not yet".
                    if let Ok(HealthProbe::Passed) = engine.probe_health(id).await {
                        return Ok("healthy".into());
                    }
                    last_probe = Some(Instant::now());
                }
            }
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

async fn failure<E: ContainerEngine>(
    engine: &E,
    service: &Service,
    id: &str,
    redactor: &Redactor,
    what: &str,
) -> UpError {
    let logs = engine.logs(id, Some(25)).await.unwrap_or_default();
    let logs = redactor.redact(&logs);
    let cause = likely_cause(&logs);
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
pub fn likely_cause(logs: &str) -> Option<String> {
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
        // Before the KAFKA_CLUSTER_ID rule: the mismatch message names that variable too.
        (
            "belongs to cluster",
            "the Kafka data volume was formatted for another kafka.cluster_id: restore the id in configs/stack.yaml, or `stackctl down --volumes` to start empty",
        ),
        (
            "KAFKA_CLUSTER_ID",
            "kafka.cluster_id in configs/stack.yaml is missing or malformed",
        ),
    ];
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
        let setting = ServiceKind::from_name(&service.name)
            .map_or("its host port", ServiceKind::host_port_setting);
        return format!(
            "host port {} is already in use by another process; free it or change {setting} in configs/stack.yaml",
            ports.join(", ")
        );
    }
    format!("could not start: {}", first_line(error))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_id_mismatch_gets_the_volume_hint() {
        let log = "stackctl-kafka: /var/lib/kafka/data belongs to cluster 'A' but KAFKA_CLUSTER_ID is 'B'; refusing to start";
        let cause = likely_cause(log).expect("a cause");
        assert!(cause.contains("down --volumes"), "{cause}");
        assert!(likely_cause("all good").is_none());
    }

    #[test]
    fn a_taken_port_names_the_setting() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let settings = crate::settings::Settings::load(root).expect("settings");
        let stack =
            crate::compose::load(root, &settings, crate::settings::Phase::MAX).expect("compose");
        let message = explain_start_failure(
            "bind: address already in use",
            stack.service("connect").expect("connect"),
        );
        assert_eq!(
            message,
            "host port 127.0.0.1:18083 is already in use by another process; free it or change connect.host_port in configs/stack.yaml"
        );
    }
}
