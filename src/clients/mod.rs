//! Clients of the running stack's services, used by `up` (schema, topics, connector) and by
//! `verify`. Each call is bounded in time; none prints or returns a secret.

pub mod acl;
pub mod authz;
pub mod clickhouse;
pub mod cluster;
pub mod connect;
mod endpoints;
pub mod kafka;
pub mod probe;
pub mod records;
mod rest;
pub mod schema_registry;

pub use endpoints::{ClientSetupError, Endpoints};

use crate::secrets::SecretSet;
use crate::settings::{ClickHouseRole, KafkaRole, Principal, RestApi, Settings};

/// A login as (user, password).
#[derive(Clone)]
pub struct Login {
    pub user: String,
    pub password: crate::secrets::Secret,
}

impl Login {
    /// The Kafka principal of `role` with its secret.
    pub fn kafka(settings: &Settings, secrets: &SecretSet, role: KafkaRole) -> Option<Login> {
        Self::of(&settings.kafka_principal(role), secrets)
    }

    /// The ClickHouse user of `role` with its secret.
    pub fn clickhouse(
        settings: &Settings,
        secrets: &SecretSet,
        role: ClickHouseRole,
    ) -> Option<Login> {
        Self::of(&settings.clickhouse_principal(role), secrets)
    }

    /// The REST login of `api` with its secret.
    pub fn rest(settings: &Settings, secrets: &SecretSet, api: RestApi) -> Option<Login> {
        Self::of(&settings.rest_principal(api), secrets)
    }

    fn of(principal: &Principal, secrets: &SecretSet) -> Option<Login> {
        secrets.get(principal).map(|s| Login {
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
