//! The Schema Registry's Confluent-compatible API (Apicurio: `/apis/ccompat/v7`).

use std::time::Duration;

use serde_json::{Value, json};

use super::http_client;

#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    base: String,
    http: reqwest::Client,
}

impl SchemaRegistry {
    pub fn new(port: u16, timeout: Duration) -> SchemaRegistry {
        SchemaRegistry {
            base: format!("http://127.0.0.1:{port}"),
            http: http_client(timeout),
        }
    }

    pub async fn ready(&self) -> Result<u16, reqwest::Error> {
        Ok(self
            .http
            .get(format!("{}/health/ready", self.base))
            .send()
            .await?
            .status()
            .as_u16())
    }

    pub async fn subjects(&self) -> Result<Vec<String>, reqwest::Error> {
        self.http
            .get(format!("{}/apis/ccompat/v7/subjects", self.base))
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
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}
