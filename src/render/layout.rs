//! The one table of rendered files: which template makes each, where it lands under the render
//! directory, which service mounts it, whether it holds a credential, and from which phase it
//! exists. The compose file mounts these files by their layout path; `render --out DIR` and `up`
//! write the same layout.

use std::path::{Path, PathBuf};

use crate::settings::{ClickHouseRole, KafkaRole, NODE_COUNTS, Phase, node_service};

/// Default output directory for rendered files, relative to the project root (git-ignored).
pub const RENDER_DIR: &str = ".stackctl/rendered";

/// A rendered file, by what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileId {
    KafkaServer,
    KafkaHealthcheck,
    AdminClient,
    AppClient,
    SchemaRegistryConfig,
    ConnectWorker,
    SinkConnector,
    ConnectClickHouseWriter,
    ConnectRestJaas,
    ConnectRestCredentials,
    ConnectHealthcheck,
    ClickHouseConfig,
    ClickHouseUsers,
    ClickHouseHealthcheck,
    ClickHouseSchema,
    KcatAdmin,
    KcatSchemaRegistry,
    KcatConnect,
    KcatApp,
    ClickHouseClientAdmin,
    ClickHouseClientWriter,
    ClickHouseClientReadonly,
}

/// One row of the layout.
#[derive(Debug, Clone, Copy)]
pub struct FileSpec {
    pub id: FileId,
    /// Template name under templates/.
    pub template: &'static str,
    /// Path relative to the render directory.
    pub path: &'static str,
    /// The service that mounts or uses it (`clients` for files only people use).
    pub service: &'static str,
    /// Holds a credential (or a hash of one): written 0600.
    pub secret: bool,
    /// The first phase that has this file.
    pub from: Phase,
    /// For Kafka client config files: which principal logs in.
    pub client: Option<KafkaRole>,
    /// For clickhouse-client config files: which user logs in.
    pub clickhouse: Option<ClickHouseRole>,
    /// Rendered once per Kafka node (template variable `node`); see [`node_path`].
    pub per_node: bool,
}

impl FileSpec {
    pub fn exists_at(&self, phase: Phase) -> bool {
        phase >= self.from
    }
}

const fn file(
    id: FileId,
    template: &'static str,
    path: &'static str,
    service: &'static str,
    secret: bool,
    from: Phase,
) -> FileSpec {
    FileSpec {
        id,
        template,
        path,
        service,
        secret,
        from,
        client: None,
        clickhouse: None,
        per_node: false,
    }
}

/// A file each Kafka node has its own copy of (its `node.id`, its advertised addresses).
const fn per_node(spec: FileSpec) -> FileSpec {
    FileSpec {
        per_node: true,
        ..spec
    }
}

/// Where `spec` lands for `node` in a cluster of `nodes`: its layout path for a single node (and
/// for files that are not per node), else under a directory named after the node's service,
/// e.g. `kafka/kafka-2/server.properties`.
pub fn node_path(spec: &FileSpec, node_service: Option<&str>, nodes: usize) -> PathBuf {
    let path = Path::new(spec.path);
    match node_service {
        Some(service) if spec.per_node && nodes > 1 => {
            let parent = path.parent().unwrap_or(Path::new(""));
            let name = path.file_name().unwrap_or(path.as_os_str());
            parent.join(service).join(name)
        }
        _ => path.to_path_buf(),
    }
}

/// Every path `spec` can have at any supported node count (to clean up after a change).
pub fn all_node_paths(spec: &FileSpec) -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from(spec.path)];
    if spec.per_node {
        for count in NODE_COUNTS {
            for index in 0..count {
                let service = node_service(index, count);
                paths.push(node_path(spec, Some(&service), usize::from(count)));
            }
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

const fn client(
    id: FileId,
    path: &'static str,
    service: &'static str,
    role: KafkaRole,
) -> FileSpec {
    FileSpec {
        client: Some(role),
        ..file(
            id,
            "kafka/client.properties.j2",
            path,
            service,
            true,
            Phase::KafkaAuth,
        )
    }
}

/// A librdkafka-style config (`kcat -F FILE`) for a Kafka principal; only people use it.
const fn kcat(id: FileId, path: &'static str, role: KafkaRole) -> FileSpec {
    FileSpec {
        client: Some(role),
        ..file(
            id,
            "clients/kcat.conf.j2",
            path,
            "clients",
            true,
            Phase::KafkaAuth,
        )
    }
}

/// A `clickhouse-client --config-file FILE` config for a ClickHouse user (users exist from phase 2).
const fn clickhouse_client(id: FileId, path: &'static str, role: ClickHouseRole) -> FileSpec {
    FileSpec {
        clickhouse: Some(role),
        ..file(
            id,
            "clients/clickhouse-client.xml.j2",
            path,
            "clients",
            true,
            Phase::ClickHouseAuth,
        )
    }
}

impl FileId {
    /// Every rendered file, in render order.
    pub const ALL: [FileId; 22] = [
        FileId::KafkaServer,
        FileId::KafkaHealthcheck,
        FileId::AdminClient,
        FileId::AppClient,
        FileId::SchemaRegistryConfig,
        FileId::ConnectWorker,
        FileId::SinkConnector,
        FileId::ConnectClickHouseWriter,
        FileId::ConnectRestJaas,
        FileId::ConnectRestCredentials,
        FileId::ConnectHealthcheck,
        FileId::ClickHouseConfig,
        FileId::ClickHouseUsers,
        FileId::ClickHouseHealthcheck,
        FileId::ClickHouseSchema,
        FileId::KcatAdmin,
        FileId::KcatSchemaRegistry,
        FileId::KcatConnect,
        FileId::KcatApp,
        FileId::ClickHouseClientAdmin,
        FileId::ClickHouseClientWriter,
        FileId::ClickHouseClientReadonly,
    ];

    /// This file's row of the layout.
    #[rustfmt::skip]
    pub const fn spec(self) -> FileSpec {
        use FileId::{KafkaServer, KafkaHealthcheck, AdminClient, AppClient, SchemaRegistryConfig, ConnectWorker, SinkConnector, ConnectClickHouseWriter, ConnectRestJaas, ConnectRestCredentials, ConnectHealthcheck, ClickHouseConfig, ClickHouseUsers, ClickHouseHealthcheck, ClickHouseSchema, KcatAdmin, KcatSchemaRegistry, KcatConnect, KcatApp, ClickHouseClientAdmin, ClickHouseClientWriter, ClickHouseClientReadonly};
        use Phase::{Authorization, ClickHouseAuth, KafkaAuth};
        match self {
            KafkaServer => per_node(file(self, "kafka/server.properties.j2", "kafka/server.properties", "kafka", true, KafkaAuth)),
            KafkaHealthcheck => client(self, "kafka/healthcheck.properties", "kafka", KafkaRole::Admin),
            AdminClient => client(self, "clients/admin.properties", "clients", KafkaRole::Admin),
            AppClient => client(self, "clients/app.properties", "clients", KafkaRole::App),
            SchemaRegistryConfig => file(self, "schema-registry/application.properties.j2", "schema-registry/application.properties", "schema-registry", true, KafkaAuth),
            ConnectWorker => file(self, "connect/worker.properties.j2", "connect/worker.properties", "connect", true, KafkaAuth),
            SinkConnector => file(self, "connect/clickhouse-sink.json.j2", "connect/clickhouse-sink.json", "connect", false, KafkaAuth),
            ConnectClickHouseWriter => file(self, "connect/clickhouse-writer.properties.j2", "connect/secrets/clickhouse-writer.properties", "connect", true, ClickHouseAuth),
            ConnectRestJaas => file(self, "connect/rest-jaas.conf.j2", "connect/rest-jaas.conf", "connect", false, KafkaAuth),
            ConnectRestCredentials => file(self, "connect/rest-credentials.properties.j2", "connect/rest/credentials.properties", "connect", true, Authorization),
            ConnectHealthcheck => file(self, "connect/healthcheck.headers.j2", "connect/healthcheck.headers", "connect", true, KafkaAuth),
            ClickHouseConfig => file(self, "clickhouse/config.xml.j2", "clickhouse/config.d/stackctl.xml", "clickhouse", false, KafkaAuth),
            ClickHouseUsers => file(self, "clickhouse/users.xml.j2", "clickhouse/users.d/stackctl-users.xml", "clickhouse", true, ClickHouseAuth),
            ClickHouseHealthcheck => file(self, "clickhouse/healthcheck.headers.j2", "clickhouse/healthcheck.headers", "clickhouse", true, KafkaAuth),
            ClickHouseSchema => file(self, "clickhouse/schema.sql.j2", "clickhouse/schema.sql", "clickhouse", false, KafkaAuth),
            KcatAdmin => kcat(self, "clients/admin.kcat.conf", KafkaRole::Admin),
            KcatSchemaRegistry => kcat(self, "clients/schema_registry.kcat.conf", KafkaRole::SchemaRegistry),
            KcatConnect => kcat(self, "clients/connect.kcat.conf", KafkaRole::Connect),
            KcatApp => kcat(self, "clients/app.kcat.conf", KafkaRole::App),
            ClickHouseClientAdmin => clickhouse_client(self, "clients/clickhouse-admin.xml", ClickHouseRole::Admin),
            ClickHouseClientWriter => clickhouse_client(self, "clients/clickhouse-writer.xml", ClickHouseRole::Writer),
            ClickHouseClientReadonly => clickhouse_client(self, "clients/clickhouse-readonly.xml", ClickHouseRole::Readonly),
        }
    }
}

/// Every row of the layout, in render order.
pub fn layout() -> impl Iterator<Item = FileSpec> {
    FileId::ALL.into_iter().map(FileId::spec)
}

/// Templates only imported by others.
pub const PARTIALS: &[&str] = &["kafka/_sasl_client.j2"];

/// Every template name the layout uses, partials included, without repeats.
pub fn template_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = layout().map(|s| s.template).collect();
    names.extend(PARTIALS);
    names.sort_unstable();
    names.dedup();
    names
}

/// The layout row whose path is `path` (relative to the render directory).
pub fn by_path(path: &Path) -> Option<FileSpec> {
    layout().find(|s| Path::new(s.path) == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_paths_are_unique() {
        let rows: Vec<FileSpec> = layout().collect();
        for (i, a) in rows.iter().enumerate() {
            assert_eq!(a.id.spec().path, a.path);
            for b in &rows[i + 1..] {
                assert_ne!(a.id, b.id);
                assert_ne!(a.path, b.path);
            }
        }
        assert_eq!(
            by_path(Path::new("clickhouse/schema.sql")).map(|s| s.id),
            Some(FileId::ClickHouseSchema)
        );
        assert_eq!(template_names().len(), 16);
    }

    #[test]
    fn every_principal_has_its_client_configs_and_they_are_private() {
        for role in KafkaRole::ALL {
            let kcat = layout().find(|s| s.client == Some(role) && s.path.ends_with(".kcat.conf"));
            let kcat = kcat.expect("a kcat config per Kafka principal");
            assert!(kcat.secret && kcat.service == "clients", "{}", kcat.path);
        }
        for role in ClickHouseRole::ALL {
            let xml = layout()
                .find(|s| s.clickhouse == Some(role))
                .expect("a clickhouse-client config");
            assert!(xml.secret && xml.service == "clients" && xml.from == Phase::ClickHouseAuth);
        }
    }
}
