//! The Schema Registry's Confluent-compatible API (Apicurio: `/apis/ccompat/v7`).

use std::time::Duration;

use serde_json::{Value, json};

use super::Login;

#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    base: String,
    http: reqwest::Client,
    timeout: Duration,
    /// Sent as HTTP basic auth on every request (the API demands it from phase 5).
    login: Option<Login>,
}

impl SchemaRegistry {
    /// A client of the service at `base`; made by [`super::Endpoints`].
    pub(super) fn new(base: &str, http: reqwest::Client, timeout: Duration) -> SchemaRegistry {
        SchemaRegistry {
            base: base.to_string(),
            http,
            timeout,
            login: None,
        }
    }

    /// The same client, authenticating as `login` (None: anonymous).
    pub fn with_login(mut self, login: Option<Login>) -> SchemaRegistry {
        self.login = login;
        self
    }

    /// A request to `path` (below the base URL), bounded and authenticated.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(self.timeout);
        match &self.login {
            Some(l) => request.basic_auth(&l.user, Some(l.password.expose())),
            None => request,
        }
    }

    /// The HTTP status of an authenticated GET of `path` (to prove a login is accepted or refused).
    pub async fn status_of(&self, path: &str) -> Result<u16, reqwest::Error> {
        Ok(self
            .request(reqwest::Method::GET, path)
            .send()
            .await?
            .status()
            .as_u16())
    }

    pub async fn ready(&self) -> Result<u16, reqwest::Error> {
        Ok(self
            .request(reqwest::Method::GET, "/health/ready")
            .send()
            .await?
            .status()
            .as_u16())
    }

    pub async fn subjects(&self) -> Result<Vec<String>, reqwest::Error> {
        self.request(reqwest::Method::GET, "/apis/ccompat/v7/subjects")
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
