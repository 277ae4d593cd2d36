//! A container's own health command, run on demand. Docker runs a HEALTHCHECK for the first time
//! one whole `--interval` after the start (10–15 s for the stack's images; engine 20.10 has no
//! `--start-interval`), so `up` would wait that long for a service that is ready in 5. While the
//! engine still reports "starting", `up` runs the very command the engine will run — the same
//! test, user and timeout — and a zero exit is the same evidence the engine would record.

use std::time::Duration;

use super::{Engine, EngineError};

/// What running the health command found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthProbe {
    /// The command exited 0.
    Passed,
    /// It ran and did not pass (exit code), or did not finish within the healthcheck's timeout.
    NotYet(String),
    /// The container declares no health command: nothing to run.
    NoCommand,
}

/// The exec argv of a Docker healthcheck `Test`: `["CMD", argv…]` or `["CMD-SHELL", line]`.
/// `None` for `["NONE"]`, an empty test, or one that inherits (nothing to run ourselves).
pub fn health_argv(test: &[String]) -> Option<Vec<String>> {
    match test.split_first() {
        Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => Some(rest.to_vec()),
        Some((kind, [line])) if kind == "CMD-SHELL" => {
            Some(vec!["/bin/sh".into(), "-c".into(), line.clone()])
        }
        _ => None,
    }
}

/// Docker's default healthcheck timeout, used when the image sets none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl Engine {
    /// Runs container `id`'s health command once, bounded by its own timeout.
    pub async fn probe_health(&self, id: &str) -> Result<HealthProbe, EngineError> {
        let info = self.inspect(id).await?;
        let check = info.config.and_then(|c| c.healthcheck);
        let Some(argv) = check
            .as_ref()
            .and_then(|h| h.test.as_deref())
            .and_then(health_argv)
        else {
            return Ok(HealthProbe::NoCommand);
        };
        let timeout = check
            .and_then(|h| h.timeout)
            .and_then(|ns| u64::try_from(ns).ok())
            .filter(|ns| *ns > 0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_nanos);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        match tokio::time::timeout(timeout, self.exec(id, &argv)).await {
            Ok(Ok((0, _))) => Ok(HealthProbe::Passed),
            Ok(Ok((code, _))) => Ok(HealthProbe::NotYet(format!("exit code {code}"))),
            Ok(Err(e)) => Err(e),
            Err(_) => Ok(HealthProbe::NotYet(format!(
                "no answer within {} s",
                timeout.as_secs()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(parts: &[&str]) -> Vec<String> {
        parts.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn argv_of_each_healthcheck_form() {
        assert_eq!(
            health_argv(&test(&[
                "CMD",
                "/opt/kafka/bin/stackctl-kafka",
                "healthcheck"
            ])),
            Some(test(&["/opt/kafka/bin/stackctl-kafka", "healthcheck"]))
        );
        assert_eq!(
            health_argv(&test(&["CMD-SHELL", "curl -sf localhost:8123/ping"])),
            Some(test(&["/bin/sh", "-c", "curl -sf localhost:8123/ping"]))
        );
        assert_eq!(health_argv(&test(&["NONE"])), None);
        assert_eq!(health_argv(&test(&["CMD"])), None);
        assert_eq!(health_argv(&[]), None);
    }
}
