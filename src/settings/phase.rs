//! The security phase: cumulative steps from "Kafka authenticates" to "hardened". Code asks a
//! phase what it enforces (`phase.enforces_clickhouse_auth()`), never compares numbers; the
//! number only exists at the edges (command line, labels, reports).

use std::fmt;

use serde::{Serialize, Serializer};

/// One security phase. Ordered: a later phase keeps everything an earlier one adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// SASL/PLAIN on every Kafka listener, the controller's included.
    KafkaAuth,
    /// ClickHouse users with least privilege; `default` removed.
    ClickHouseAuth,
    /// Every credential a mounted file; the hygiene checks become required.
    SecretsHygiene,
    /// No topic auto-creation, explicit topics, resource limits.
    Hardening,
    /// Least privilege: Kafka ACLs with an authorizer, authenticated REST APIs.
    Authorization,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("phase {0} does not exist; choose 1 to {max}", max = Phase::MAX.number())]
pub struct UnknownPhase(pub u8);

impl Phase {
    /// Every phase, lowest first.
    pub const ALL: [Phase; 5] = [
        Phase::KafkaAuth,
        Phase::ClickHouseAuth,
        Phase::SecretsHygiene,
        Phase::Hardening,
        Phase::Authorization,
    ];
    /// The highest phase; `up` and `render` default to it.
    pub const MAX: Phase = Phase::Authorization;

    /// The number users write (`--phase 2`).
    pub const fn number(self) -> u8 {
        match self {
            Phase::KafkaAuth => 1,
            Phase::ClickHouseAuth => 2,
            Phase::SecretsHygiene => 3,
            Phase::Hardening => 4,
            Phase::Authorization => 5,
        }
    }

    pub fn from_number(n: u8) -> Result<Phase, UnknownPhase> {
        Phase::ALL
            .into_iter()
            .find(|p| p.number() == n)
            .ok_or(UnknownPhase(n))
    }

    /// What the phase is called and what it adds (help, README, `verify --list`).
    pub fn title(self) -> &'static str {
        match self {
            Phase::KafkaAuth => "Kafka auth",
            Phase::ClickHouseAuth => "ClickHouse auth",
            Phase::SecretsHygiene => "secrets hygiene",
            Phase::Hardening => "hardening",
            Phase::Authorization => "authorization",
        }
    }

    /// ClickHouse refuses anonymous and `default` logins; the sink logs in as `writer` through
    /// `${file:…}` references; the schema is applied as `admin`.
    pub fn enforces_clickhouse_auth(self) -> bool {
        self >= Phase::ClickHouseAuth
    }

    /// Secret hygiene (files 0600, nothing in env/logs/images) is required, not advisory.
    pub fn requires_secret_hygiene(self) -> bool {
        self >= Phase::SecretsHygiene
    }

    /// The broker does not auto-create topics: stackctl creates every topic it needs, the
    /// Connect and Schema Registry internal topics included.
    pub fn explicit_topics(self) -> bool {
        self >= Phase::Hardening
    }

    /// Every container runs with its CPU and memory limits.
    pub fn limits_resources(self) -> bool {
        self >= Phase::Hardening
    }

    /// Kafka runs an authorizer (no ACL, no access; super user admin only) and holds exactly the
    /// declared ACLs; Connect and Schema Registry REST demand their own logins; connectors cannot
    /// override their client login.
    pub fn enforces_authorization(self) -> bool {
        self >= Phase::Authorization
    }

    /// The capabilities templates branch on; they never see the number.
    pub fn capabilities(self) -> Capabilities {
        Capabilities {
            clickhouse_auth: self.enforces_clickhouse_auth(),
            secret_hygiene: self.requires_secret_hygiene(),
            explicit_topics: self.explicit_topics(),
            resource_limits: self.limits_resources(),
            authorization: self.enforces_authorization(),
        }
    }
}

/// [`Phase`]'s capabilities as data, for templates and `stackctl` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent capabilities a phase switches on, serialized by name for templates; not a state machine"
)]
pub struct Capabilities {
    pub clickhouse_auth: bool,
    pub secret_hygiene: bool,
    pub explicit_topics: bool,
    pub resource_limits: bool,
    pub authorization: bool,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

impl Serialize for Phase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.number())
    }
}

impl std::str::FromStr for Phase {
    type Err = String;

    fn from_str(s: &str) -> Result<Phase, String> {
        let n: u8 = s
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not a phase number (1 to {})", Phase::MAX))?;
        Phase::from_number(n).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_order_is_cumulative() {
        for p in Phase::ALL {
            assert_eq!(Phase::from_number(p.number()), Ok(p));
        }
        assert_eq!(Phase::from_number(0), Err(UnknownPhase(0)));
        assert_eq!(Phase::from_number(6), Err(UnknownPhase(6)));
        assert!(Phase::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!("3".parse::<Phase>(), Ok(Phase::SecretsHygiene));
        assert!("9".parse::<Phase>().is_err());
    }

    #[test]
    fn capabilities_only_grow() {
        let on = |p: Phase| {
            let c = p.capabilities();
            [
                c.clickhouse_auth,
                c.secret_hygiene,
                c.explicit_topics,
                c.resource_limits,
                c.authorization,
            ]
            .iter()
            .filter(|b| **b)
            .count()
        };
        assert_eq!(on(Phase::KafkaAuth), 0);
        assert!(Phase::ALL.windows(2).all(|w| on(w[0]) <= on(w[1])));
        assert_eq!(on(Phase::MAX), 5);
    }
}
