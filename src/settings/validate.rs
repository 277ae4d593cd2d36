//! Validation of the settings: what serde cannot say (names, ranges, cross-references).

use std::path::Path;

use super::{ConfigError, Principal, ServiceKind, Settings};

impl Settings {
    pub(super) fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |setting: &str, problem: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            setting: setting.to_string(),
            problem,
        };
        if let Some((setting, problem)) = self.acl_problems() {
            return Err(invalid(&setting, problem));
        }
        check_identifier(&self.project, "project").map_err(|p| invalid("project", p))?;
        self.validate_names(&invalid)?;
        self.validate_kafka(&invalid)?;
        self.validate_pipeline().map_err(|(s, p)| invalid(s, p))?;
        if let Some((setting, problem)) = self.logging.problem() {
            return Err(invalid(setting, problem));
        }
        let cid = &self.kafka.cluster_id;
        if cid.len() != 22
            || !cid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                "kafka.cluster_id",
                "must be a 22-character URL-safe base64 UUID (as `kafka-storage random-uuid` prints)"
                    .into(),
            ));
        }
        if parse_major_minor(&self.clickhouse.version).is_none() {
            return Err(invalid(
                "clickhouse.version",
                format!(
                    "is `{}`; write MAJOR.MINOR, e.g. \"18.16\"",
                    self.clickhouse.version
                ),
            ));
        }
        self.validate_services(&invalid)
    }

    /// Principal, user, database and table names: identifiers, distinct, never `default`.
    fn validate_names(
        &self,
        invalid: &impl Fn(&str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let names = [
            ("kafka.principals.admin", &self.kafka.principals.admin),
            (
                "kafka.principals.schema_registry",
                &self.kafka.principals.schema_registry,
            ),
            ("kafka.principals.connect", &self.kafka.principals.connect),
            ("kafka.principals.app", &self.kafka.principals.app),
            ("clickhouse.users.admin", &self.clickhouse.users.admin),
            ("clickhouse.users.writer", &self.clickhouse.users.writer),
            ("clickhouse.users.readonly", &self.clickhouse.users.readonly),
            ("clickhouse.database", &self.clickhouse.database),
            ("pipeline.table", &self.pipeline.table),
            ("connect.rest_user", &self.connect.rest_user),
            ("schema_registry.rest_user", &self.schema_registry.rest_user),
        ];
        for (setting, value) in names {
            check_identifier(value, setting).map_err(|p| invalid(setting, p))?;
        }
        let ids: Vec<String> = self.principals().iter().map(Principal::id).collect();
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(invalid(
                    "kafka.principals / clickhouse.users",
                    format!("names `{id}` twice; every principal needs its own name"),
                ));
            }
        }
        if self.clickhouse.users.admin == "default"
            || self.clickhouse.users.writer == "default"
            || self.clickhouse.users.readonly == "default"
        {
            return Err(invalid(
                "clickhouse.users",
                "must not use `default`: stackctl removes the default user from phase 2".into(),
            ));
        }
        Ok(())
    }

    /// The cluster (node count, replication factor, min ISR, host ports), partitions and the
    /// node id.
    fn validate_kafka(
        &self,
        invalid: &impl Fn(&str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        self.validate_cluster().map_err(|(s, p)| invalid(s, p))?;
        if self.pipeline.partitions == 0 {
            return Err(invalid("pipeline.partitions", "must be at least 1".into()));
        }
        // Kafka's partition counts and node ids are int32 on the wire.
        if i32::try_from(self.pipeline.partitions).is_err() {
            return Err(invalid(
                "pipeline.partitions",
                format!("must be at most {}", i32::MAX),
            ));
        }
        if i32::try_from(self.kafka.node_id).is_err() {
            return Err(invalid(
                "kafka.node_id",
                format!("must be at most {}", i32::MAX),
            ));
        }
        Ok(())
    }

    /// Exactly the known services, each with an image and sane resource limits.
    fn validate_services(
        &self,
        invalid: &impl Fn(&str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        for name in ServiceKind::ALL.map(ServiceKind::name) {
            let Some(service) = self.services.get(name) else {
                return Err(invalid(
                    "services",
                    format!("has no entry for `{name}`; every service needs an image"),
                ));
            };
            if service.image.trim().is_empty() {
                return Err(invalid(
                    &format!("services.{name}.image"),
                    "is empty".into(),
                ));
            }
            if service.resources.cpus.is_nan()
                || service.resources.cpus <= 0.0
                || service.resources.memory_mb < 128
            {
                return Err(invalid(
                    &format!("services.{name}.resources"),
                    "needs cpus > 0 and memory_mb >= 128".into(),
                ));
            }
        }
        if let Some(extra) = self
            .services
            .keys()
            .find(|k| ServiceKind::from_name(k).is_none())
        {
            return Err(invalid(
                "services",
                format!(
                    "names an unknown service `{extra}`; known: {}",
                    ServiceKind::known()
                ),
            ));
        }
        Ok(())
    }
}

impl Settings {
    /// The dead-letter topic and the sink's numbers.
    fn validate_pipeline(&self) -> Result<(), (&'static str, String)> {
        let p = &self.pipeline;
        let dlq = &p.dead_letter_topic;
        let topic_chars = |t: &str| {
            !t.is_empty()
                && t.len() <= 249
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        };
        if !topic_chars(dlq) {
            return Err((
                "pipeline.dead_letter_topic",
                format!("is `{dlq}`; a Kafka topic name is 1-249 of a-z, A-Z, 0-9, `.`, `_`, `-`"),
            ));
        }
        let others = self.known_topics();
        if others.iter().filter(|t| *t == dlq).count() > 1 {
            return Err((
                "pipeline.dead_letter_topic",
                format!("is `{dlq}`, a topic that already has another use"),
            ));
        }
        let s = &p.sink;
        let ranges: [(&'static str, u32, u32, u32); 6] = [
            ("pipeline.sink.tasks", s.tasks, 1, 64),
            ("pipeline.sink.batch_size", s.batch_size, 1, 500_000),
            ("pipeline.sink.linger_ms", s.linger_ms, 0, 60_000),
            (
                "pipeline.sink.max_poll_records",
                s.max_poll_records,
                1,
                500_000,
            ),
            (
                "pipeline.sink.fetch_max_wait_ms",
                s.fetch_max_wait_ms,
                0,
                60_000,
            ),
            (
                "pipeline.sink.commit_interval_ms",
                s.commit_interval_ms,
                100,
                600_000,
            ),
        ];
        for (setting, value, low, high) in ranges {
            if !(low..=high).contains(&value) {
                return Err((setting, format!("is {value}; must be {low}..={high}")));
            }
        }
        if s.fetch_min_bytes == 0 {
            return Err(("pipeline.sink.fetch_min_bytes", "must be at least 1".into()));
        }
        Ok(())
    }
}

/// Names that end up in JAAS option keys, XML element names, SQL and file names: keep them plain.
fn check_identifier(value: &str, _setting: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "is `{value}`; use 1-64 characters of a-z, 0-9 and _, starting with a letter"
        ))
    }
}

pub(super) fn parse_major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}
