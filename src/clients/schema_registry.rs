//! The Schema Registry's Confluent-compatible API (Apicurio: `/apis/ccompat/v7`).

use std::time::Duration;

use serde_json::{Value, json};

use super::Login;
use super::rest::RestClient;

#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    rest: RestClient,
}

impl SchemaRegistry {
    /// A client of the service at `base`; made by [`super::Endpoints`].
    pub(super) fn new(base: &str, http: reqwest::Client, timeout: Duration) -> SchemaRegistry {
        SchemaRegistry {
            rest: RestClient::new(base, http, timeout),
        }
    }

    /// The same client, authenticating as `login` (None: anonymous).
    pub fn with_login(mut self, login: Option<Login>) -> SchemaRegistry {
        self.rest.set_login(login);
        self
    }

    /// The HTTP status of an authenticated GET of `path` (to prove a login is accepted or refused).
    pub async fn status_of(&self, path: &str) -> Result<u16, reqwest::Error> {
        self.rest.status_of(path).await
    }

    pub async fn ready(&self) -> Result<u16, reqwest::Error> {
        self.rest.status_of("/health/ready").await
    }

    pub async fn subjects(&self) -> Result<Vec<String>, reqwest::Error> {
        self.rest
            .request(reqwest::Method::GET, "/apis/ccompat/v7/subjects")
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
            .rest
            .request(
                reqwest::Method::POST,
                &format!("/apis/ccompat/v7/subjects/{subject}/versions"),
            )
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
            .rest
            .request(
                reqwest::Method::GET,
                &format!("/apis/ccompat/v7/subjects/{subject}/versions/latest"),
            )
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}
