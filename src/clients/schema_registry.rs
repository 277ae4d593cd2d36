//! The Schema Registry's Confluent-compatible API (Apicurio: `/apis/ccompat/v7`).

use std::time::Duration;

use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    base: String,
    http: reqwest::Client,
    timeout: Duration,
}

impl SchemaRegistry {
    /// A client of the service at `base`; made by [`super::Endpoints`].
    pub(super) fn new(base: &str, http: reqwest::Client, timeout: Duration) -> SchemaRegistry {
        SchemaRegistry {
            base: base.to_string(),
            http,
            timeout,
        }
    }

    pub async fn ready(&self) -> Result<u16, reqwest::Error> {
        Ok(self
            .http
            .get(format!("{}/health/ready", self.base))
            .timeout(self.timeout)
            .send()
            .await?
            .status()
            .as_u16())
    }

    pub async fn subjects(&self) -> Result<Vec<String>, reqwest::Error> {
        self.http
            .get(format!("{}/apis/ccompat/v7/subjects", self.base))
            .timeout(self.timeout)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }

    /// Registers an Avro schema under `subject`; returns its id.
    pub async fn register(
        &self,
        subject: &str,
        schema: &str,
    ) -> Result<(u16, Value), reqwest::Error> {
        let response = self
            .http
            .post(format!(
                "{}/apis/ccompat/v7/subjects/{subject}/versions",
                self.base
            ))
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .json(&json!({ "schema": schema }))
            .timeout(self.timeout)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    pub async fn latest(&self, subject: &str) -> Result<(u16, Value), reqwest::Error> {
        let response = self
            .http
            .get(format!(
                "{}/apis/ccompat/v7/subjects/{subject}/versions/latest",
                self.base
            ))
            .timeout(self.timeout)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}
