//! Where each service answers from the host, and the clients that talk to it: the one place
//! that turns settings into addresses.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Login;
use super::clickhouse::ClickHouse;
use super::connect::Connect;
use super::kafka::Kafka;
use super::schema_registry::SchemaRegistry;
use crate::secrets::SecretSet;
use crate::settings::{RestApi, Settings};

#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client for the stack's REST APIs: {0}")]
pub struct ClientSetupError(#[source] reqwest::Error);

/// The stack's published endpoints, with one HTTP client (connection pool) shared by all.
#[derive(Debug, Clone)]
pub struct Endpoints {
    kafka_bootstrap: String,
    schema_registry: String,
    connect: String,
    clickhouse_http: String,
    http: reqwest::Client,
    /// Sent to the REST APIs, which demand them from phase 5 (and ignore them before).
    connect_login: Option<Login>,
    schema_registry_login: Option<Login>,
}

impl Endpoints {
    pub fn new(settings: &Settings, secrets: &SecretSet) -> Result<Endpoints, ClientSetupError> {
        // Local services only: never through a proxy from the environment. Each request sets
        // its own overall timeout; connecting is bounded here.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .no_proxy()
            .build()
            .map_err(ClientSetupError)?;
        Ok(Endpoints {
            // Every node: a client reaches the cluster while any one node is down.
            kafka_bootstrap: settings.kafka_external_bootstrap(),
            schema_registry: format!("http://127.0.0.1:{}", settings.schema_registry.host_port),
            connect: format!("http://127.0.0.1:{}", settings.connect.host_port),
            clickhouse_http: format!("http://127.0.0.1:{}/", settings.clickhouse.host_http_port),
            http,
            connect_login: Login::rest(settings, secrets, RestApi::Connect),
            schema_registry_login: Login::rest(settings, secrets, RestApi::SchemaRegistry),
        })
    }

    pub fn kafka(&self) -> Kafka {
        Kafka::new(&self.kafka_bootstrap)
    }

    /// ClickHouse over HTTP; each query bounded by `timeout`.
    pub fn clickhouse(&self, timeout: Duration) -> ClickHouse {
        ClickHouse::new(&self.clickhouse_http, self.http.clone(), timeout)
    }

    /// Connect's REST API as stackctl's REST login; each call bounded by `timeout`.
    pub fn connect(&self, timeout: Duration) -> Connect {
        Connect::new(&self.connect, self.http.clone(), timeout)
            .with_login(self.connect_login.clone())
    }

    /// Schema Registry's API as stackctl's REST login; each call bounded by `timeout`.
    pub fn schema_registry(&self, timeout: Duration) -> SchemaRegistry {
        SchemaRegistry::new(&self.schema_registry, self.http.clone(), timeout)
            .with_login(self.schema_registry_login.clone())
    }

    /// What a user connects to, by service (for `up`'s report).
    pub fn published(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "kafka (SASL_PLAINTEXT)".into(),
                self.kafka_bootstrap.clone(),
            ),
            (
                "schema-registry".into(),
                format!("{}/apis/ccompat/v7", self.schema_registry),
            ),
            ("connect".into(), self.connect.clone()),
            (
                "clickhouse (HTTP)".into(),
                self.clickhouse_http.trim_end_matches('/').to_string(),
            ),
        ])
    }
}
