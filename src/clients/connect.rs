//! The Kafka Connect REST API.

use std::time::Duration;

use serde_json::Value;

use super::Login;
use super::rest::RestClient;

#[derive(Debug, Clone)]
pub struct Connect {
    rest: RestClient,
}

/// A connector's state and its tasks' states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorStatus {
    pub connector: String,
    pub tasks: Vec<String>,
    /// Why a task failed: the innermost `Caused by:` of its trace (the framework wraps a task's
    /// own exception in "Exiting WorkerSinkTask ..."), else the first line.
    pub trace: Option<String>,
}

impl ConnectorStatus {
    pub fn running(&self) -> bool {
        self.connector == "RUNNING"
            && !self.tasks.is_empty()
            && self.tasks.iter().all(|t| t == "RUNNING")
    }

    /// FAILED or PAUSED, the connector or a task: it will not get to RUNNING by itself.
    pub fn stopped(&self) -> bool {
        std::iter::once(&self.connector)
            .chain(&self.tasks)
            .any(|s| s == "FAILED" || s == "PAUSED")
    }
}

impl Connect {
    /// A client of the service at `base`; made by [`super::Endpoints`].
    pub(super) fn new(base: &str, http: reqwest::Client, timeout: Duration) -> Connect {
        Connect {
            rest: RestClient::new(base, http, timeout),
        }
    }

    /// The same client, authenticating as `login` (None: anonymous).
    pub fn with_login(mut self, login: Option<Login>) -> Connect {
        self.rest.set_login(login);
        self
    }

    /// The HTTP status of an authenticated GET of `path` (to prove a login is accepted or refused).
    pub async fn status_of(&self, path: &str) -> Result<u16, reqwest::Error> {
        self.rest.status_of(path).await
    }

    pub async fn root(&self) -> Result<Value, reqwest::Error> {
        self.rest
            .request(reqwest::Method::GET, "")
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }

    /// Creates or updates a connector (PUT is idempotent).
    pub async fn put_config(
        &self,
        name: &str,
        config: &Value,
    ) -> Result<(u16, String), reqwest::Error> {
        let response = self
            .rest
            .request(reqwest::Method::PUT, &format!("/connectors/{name}/config"))
            .json(config)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    pub async fn config(&self, name: &str) -> Result<(u16, String), reqwest::Error> {
        let response = self
            .rest
            .request(reqwest::Method::GET, &format!("/connectors/{name}/config"))
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    pub async fn status(&self, name: &str) -> Result<Option<ConnectorStatus>, reqwest::Error> {
        let response = self
            .rest
            .request(reqwest::Method::GET, &format!("/connectors/{name}/status"))
            .send()
            .await?;
        if response.status().as_u16() == 404 {
            return Ok(None);
        }
        let v: Value = response.error_for_status()?.json().await?;
        let tasks: Vec<&Value> = v["tasks"]
            .as_array()
            .map(|t| t.iter().collect())
            .unwrap_or_default();
        Ok(Some(ConnectorStatus {
            connector: v["connector"]["state"]
                .as_str()
                .unwrap_or("UNKNOWN")
                .to_string(),
            tasks: tasks
                .iter()
                .map(|t| t["state"].as_str().unwrap_or("UNKNOWN").to_string())
                .collect(),
            trace: tasks
                .iter()
                .find_map(|t| t["trace"].as_str())
                .and_then(trace_reason),
        }))
    }

    /// Deletes a connector; returns the HTTP status.
    pub async fn delete(&self, name: &str) -> Result<u16, reqwest::Error> {
        Ok(self
            .rest
            .request(reqwest::Method::DELETE, &format!("/connectors/{name}"))
            .send()
            .await?
            .status()
            .as_u16())
    }

    /// Restarts a connector and its tasks.
    pub async fn restart(&self, name: &str) -> Result<u16, reqwest::Error> {
        let response = self
            .rest
            .request(
                reqwest::Method::POST,
                &format!("/connectors/{name}/restart?includeTasks=true"),
            )
            .send()
            .await?;
        Ok(response.status().as_u16())
    }
}

/// How long a connector may take to reach RUNNING: after a deploy, or while its group
/// rebalances after a broker restart (up to the group session timeout, 45 s), with margin.
pub const RUNNING_BOUND: Duration = Duration::from_secs(60);

/// How long a connector that was started, restarted or reconfigured must stay RUNNING before `up`
/// calls it RUNNING: a task that fails on its first batch (a wrong table or login) or keeps
/// dying on a record shows FAILED well within this.
pub const SETTLE_AFTER_CHANGE: Duration = Duration::from_secs(3);

/// The settle time of `verify`'s look at a connector that should long be running: short, so the
/// suite stays fast, but a task that is failing again right now is not counted as RUNNING.
pub const SETTLE_RUNNING: Duration = Duration::from_secs(1);

/// What the caller knows about the connector it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Its config was just PUT: until the worker has it, status answers 404 (waited out), and a
    /// FAILED task is restarted once (a config that changed while a task had failed does not
    /// restart it by itself) before FAILED counts.
    JustDeployed,
    /// It should be there: 404 is "not deployed" and FAILED or PAUSED are reported at once.
    Deployed,
}

/// Why a connector is not RUNNING.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotRunning {
    #[error("connector {name} is not deployed; `stackctl up` deploys it")]
    NotDeployed { name: String },
    #[error("connector {name}: connector {} tasks {:?} {}; see `stackctl logs connect`",
        .status.connector, .status.tasks, .status.trace.as_deref().unwrap_or(""))]
    Failed {
        name: String,
        status: ConnectorStatus,
    },
    #[error("connector {name} not RUNNING within {} s; last: {last}; see `stackctl logs connect`", .bound.as_secs())]
    Timeout {
        name: String,
        bound: Duration,
        last: String,
    },
}

impl Connect {
    /// Polls until `name` and all its tasks are RUNNING and have stayed so for `settle` (a task
    /// that is about to fail again is not RUNNING). FAILED or PAUSED ends the wait (after one
    /// restart when [`Expect::JustDeployed`]); states a worker passes through while its group
    /// rebalances (UNASSIGNED, RESTARTING, no tasks yet, REST answering 409) are waited out.
    pub async fn wait_running(
        &self,
        name: &str,
        bound: Duration,
        expect: Expect,
        settle: Duration,
    ) -> Result<ConnectorStatus, NotRunning> {
        let deadline = std::time::Instant::now() + bound + settle;
        let mut restarted = false;
        let mut running_since: Option<std::time::Instant> = None;
        loop {
            let status = self.status(name).await;
            if !matches!(&status, Ok(Some(s)) if s.running()) {
                running_since = None;
            }
            let last = match status {
                Ok(Some(s)) if s.running() => {
                    let since = *running_since.get_or_insert_with(std::time::Instant::now);
                    if since.elapsed() >= settle {
                        return Ok(s);
                    }
                    format!(
                        "RUNNING for {:.1} s of the {:.1} s it must stay so",
                        since.elapsed().as_secs_f64(),
                        settle.as_secs_f64()
                    )
                }
                Ok(Some(s)) if s.stopped() => {
                    if expect == Expect::JustDeployed && !restarted {
                        restarted = true;
                        // A refused restart shows as the next status; nothing to handle here.
                        let _ = self.restart(name).await;
                        format!("connector {} tasks {:?}; restarted", s.connector, s.tasks)
                    } else {
                        return Err(NotRunning::Failed {
                            name: name.to_string(),
                            status: s,
                        });
                    }
                }
                Ok(Some(s)) => format!("connector {} tasks {:?}", s.connector, s.tasks),
                Ok(None) if expect == Expect::JustDeployed => "not known to the worker yet".into(),
                Ok(None) => {
                    return Err(NotRunning::NotDeployed {
                        name: name.to_string(),
                    });
                }
                Err(e) => format!("status request failed: {e}"),
            };
            if std::time::Instant::now() >= deadline {
                return Err(NotRunning::Timeout {
                    name: name.to_string(),
                    bound,
                    last,
                });
            }
            let pause = if running_since.is_some() { 250 } else { 500 };
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }
}

/// The innermost cause of a Java stack trace, else its first line.
fn trace_reason(trace: &str) -> Option<String> {
    trace
        .lines()
        .filter_map(|l| l.strip_prefix("Caused by: "))
        .next_back()
        .or_else(|| trace.lines().next())
        .map(str::to_string)
}

#[cfg(test)]
mod trace_tests {
    #[test]
    fn the_innermost_cause_is_the_reason() {
        let t = "org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable exception.\n\tat x\nCaused by: org.apache.kafka.connect.errors.ConnectException: schema drift: table demo.events lost column(s) [payload]\n\tat y";
        assert_eq!(
            super::trace_reason(t).as_deref(),
            Some(
                "org.apache.kafka.connect.errors.ConnectException: schema drift: table demo.events lost column(s) [payload]"
            )
        );
        assert_eq!(super::trace_reason("one line").as_deref(), Some("one line"));
    }
}
