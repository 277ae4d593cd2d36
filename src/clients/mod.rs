//! Clients of the running stack's services, used by `up` (schema, topics, connector) and by
//! `verify`. Each call is bounded in time; none prints or returns a secret.

pub mod clickhouse;
pub mod connect;
pub mod kafka;
pub mod schema_registry;

use std::time::Duration;

use crate::config::{ClickHouseRole, KafkaRole, Principal, Settings};
use crate::secrets::SecretSet;

/// The default bound for one HTTP call to a local service.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// A login as (user, password).
#[derive(Clone)]
pub struct Login {
    pub user: String,
    pub password: crate::secrets::Secret,
}

impl Login {
    /// The Kafka principal of `role` with its secret.
    pub fn kafka(settings: &Settings, secrets: &SecretSet, role: KafkaRole) -> Option<Login> {
        Self::of(settings.kafka_principal(role), secrets)
    }

    /// The ClickHouse user of `role` with its secret.
    pub fn clickhouse(
        settings: &Settings,
        secrets: &SecretSet,
        role: ClickHouseRole,
    ) -> Option<Login> {
        Self::of(settings.clickhouse_principal(role), secrets)
    }

    fn of(principal: Principal, secrets: &SecretSet) -> Option<Login> {
        secrets.get(&principal).map(|s| Login {
            user: principal.user().to_string(),
            password: s.clone(),
        })
    }
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Login({}, ***)", self.user)
    }
}

pub(crate) fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(3))
        .no_proxy()
        .build()
        .unwrap_or_default()
}
