//! The Kafka Connect REST API.

use std::time::Duration;

use serde_json::Value;

use super::http_client;

#[derive(Debug, Clone)]
pub struct Connect {
    base: String,
    http: reqwest::Client,
}

/// A connector's state and its tasks' states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorStatus {
    pub connector: String,
    pub tasks: Vec<String>,
    /// The first task trace line, when a task failed.
    pub trace: Option<String>,
}

impl ConnectorStatus {
    pub fn running(&self) -> bool {
        self.connector == "RUNNING"
            && !self.tasks.is_empty()
            && self.tasks.iter().all(|t| t == "RUNNING")
    }
}

impl Connect {
    pub fn new(port: u16, timeout: Duration) -> Connect {
        Connect {
            base: format!("http://127.0.0.1:{port}"),
            http: http_client(timeout),
        }
    }

    pub async fn root(&self) -> Result<Value, reqwest::Error> {
        self.http
            .get(&self.base)
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
            .http
            .put(format!("{}/connectors/{name}/config", self.base))
            .json(config)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    pub async fn config(&self, name: &str) -> Result<(u16, String), reqwest::Error> {
        let response = self
            .http
            .get(format!("{}/connectors/{name}/config", self.base))
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    pub async fn status(&self, name: &str) -> Result<Option<ConnectorStatus>, reqwest::Error> {
        let response = self
            .http
            .get(format!("{}/connectors/{name}/status", self.base))
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
                .and_then(|t| t.lines().next())
                .map(str::to_string),
        }))
    }

    /// Restarts a connector and its tasks.
    pub async fn restart(&self, name: &str) -> Result<u16, reqwest::Error> {
        let response = self
            .http
            .post(format!(
                "{}/connectors/{name}/restart?includeTasks=true",
                self.base
            ))
            .send()
            .await?;
        Ok(response.status().as_u16())
    }
}
