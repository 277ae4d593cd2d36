//! Altinity's `ClickHouseInstallation` (`clickhouse.altinity.com/v1`): `default` locked to the
//! pod's loopback, admin/writer/readonly with SHA-256 password hashes from Secrets, and the
//! privileges as the Docker path renders them — SQL grants from ClickHouse 23.1, profiles
//! (readonly, allow_ddl, allow_databases) before that.

use serde_json::{Map, Value, json};

use super::{Ctx, KubeError, Manifest};
use crate::render::escape::{self, EscapeError};
use crate::settings::{ClickHouseRole, ServiceKind};

pub(super) const API: &str = "clickhouse.altinity.com/v1";
/// The key holding the hex SHA-256 of the password in each ClickHouse user's Secret.
pub const HASH_KEY: &str = "password_sha256_hex";

/// The Service the operator creates for the installation.
pub(super) fn service_host(ctx: &Ctx) -> String {
    format!("clickhouse-{}", ctx.names.project)
}

/// The Secret holding a ClickHouse user's password hash.
pub(super) fn user_secret(ctx: &Ctx, role: ClickHouseRole) -> String {
    format!("{}-clickhouse-{}", ctx.names.project, role_key(role))
}

pub(super) fn role_key(role: ClickHouseRole) -> &'static str {
    match role {
        ClickHouseRole::Admin => "admin",
        ClickHouseRole::Writer => "writer",
        ClickHouseRole::Readonly => "readonly",
    }
}

pub(super) fn manifests(ctx: &Ctx) -> Result<Vec<Manifest>, KubeError> {
    let s = ctx.settings;
    let mut container = json!({
        "name": "clickhouse",
        "image": ctx.service("clickhouse")?.image,
    });
    if let Some(resources) = ctx.resources("clickhouse")? {
        container["resources"] = resources;
    }
    let mut configuration = json!({
        "users": users(ctx),
        "clusters": [{ "name": "main", "layout": { "shardsCount": 1, "replicasCount": 1 } }],
    });
    if !s.clickhouse_supports_xml_grants() {
        configuration["profiles"] = profiles();
    }
    let doc = json!({
        "apiVersion": API,
        "kind": "ClickHouseInstallation",
        "metadata": ctx.metadata(&ctx.names.project, ServiceKind::ClickHouse.name()),
        "spec": {
            "defaults": { "templates": { "podTemplate": "clickhouse" } },
            "configuration": configuration,
            "templates": {
                "podTemplates": [{
                    "name": "clickhouse",
                    "metadata": { "labels": ctx.labels(ServiceKind::ClickHouse.name()) },
                    "spec": { "containers": [container] },
                }],
            },
        }
    });
    let mut out = vec![Manifest::new("clickhouse/installation.yaml", doc)];
    out.extend(schema(ctx)?);
    Ok(out)
}

/// The admin's clickhouse-client config (host, port, login), for the schema Job.
pub(super) fn admin_client_secret(ctx: &Ctx) -> String {
    format!("{}-clickhouse-admin-client", ctx.names.project)
}
pub const CLIENT_KEY: &str = "client.xml";
const CLIENT_MOUNT: &str = "/etc/stackctl/clickhouse-client";
const SCHEMA_MOUNT: &str = "/etc/stackctl/schema";

/// The admin's client config: the Secret's value (`--with-secrets`).
pub(super) fn admin_client_xml(
    ctx: &Ctx,
    user: &str,
    password: &str,
) -> Result<String, EscapeError> {
    let s = ctx.settings;
    Ok(format!(
        "<config>\n    <host>{}</host>\n    <port>{}</port>\n    <user>{}</user>\n    <password>{}</password>\n    <database>{}</database>\n</config>\n",
        service_host(ctx),
        s.clickhouse.native_port,
        escape::xml(user)?,
        escape::xml(password)?,
        escape::xml(&s.clickhouse.database)?,
    ))
}

/// The schema as a ConfigMap, applied by a Job as the admin (the Docker path applies it at `up`).
/// The Job retries until the server answers; the statements are idempotent.
fn schema(ctx: &Ctx) -> Result<Vec<Manifest>, KubeError> {
    let name = format!("{}-clickhouse-schema", ctx.names.project);
    let component = ServiceKind::ClickHouse.name();
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": ctx.metadata(&name, component),
        "data": { "schema.sql": ctx.schema_sql },
    });
    let mut labels = ctx.labels(component);
    labels[super::CLICKHOUSE_LABEL] = json!(role_key(ClickHouseRole::Admin));
    let command = format!(
        "clickhouse-client --config-file {CLIENT_MOUNT}/{CLIENT_KEY} --multiquery < {SCHEMA_MOUNT}/schema.sql"
    );
    let job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": ctx.metadata(&name, component),
        "spec": {
            "backoffLimit": 20,
            "template": {
                "metadata": { "labels": labels },
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": false,
                    "containers": [{
                        "name": "schema",
                        "image": ctx.service("clickhouse")?.image,
                        "command": ["sh", "-c", command],
                        "volumeMounts": [
                            { "name": "client", "mountPath": CLIENT_MOUNT, "readOnly": true },
                            { "name": "schema", "mountPath": SCHEMA_MOUNT, "readOnly": true },
                        ],
                    }],
                    "volumes": [
                        { "name": "client", "secret": { "secretName": admin_client_secret(ctx), "defaultMode": 0o400 } },
                        { "name": "schema", "configMap": { "name": name } },
                    ],
                },
            },
        },
    });
    Ok(vec![
        Manifest::new("clickhouse/schema-configmap.yaml", config_map),
        Manifest::new("clickhouse/schema-job.yaml", job),
    ])
}

/// The users section in the operator's flat `user/setting` form.
fn users(ctx: &Ctx) -> Value {
    let s = ctx.settings;
    let db = &s.clickhouse.database;
    let mut users = Map::new();
    // `default` cannot be removed under the operator; it answers only inside the pod.
    users.insert("default/networks/ip".into(), json!(["127.0.0.1", "::1"]));
    for role in ClickHouseRole::ALL {
        let principal = s.clickhouse_principal(role);
        let user = principal.user();
        let mut set = |key: &str, value: Value| users.insert(format!("{user}/{key}"), value);
        set(
            HASH_KEY,
            json!({ "valueFrom": { "secretKeyRef": { "name": user_secret(ctx, role), "key": HASH_KEY } } }),
        );
        set("networks/ip", json!("::/0"));
        set("quota", json!("default"));
        if s.clickhouse_supports_xml_grants() {
            set("profile", json!("default"));
            let grant = match role {
                ClickHouseRole::Admin => format!(
                    "GRANT CREATE DATABASE, CREATE TABLE, DROP TABLE, ALTER, INSERT, SELECT ON {db}.*"
                ),
                ClickHouseRole::Writer => {
                    format!("GRANT INSERT, SELECT ON {db}.{}", s.pipeline.table)
                }
                ClickHouseRole::Readonly => format!("GRANT SELECT ON {db}.*"),
            };
            set("grants/query", json!([grant]));
        } else {
            set("profile", json!(format!("stackctl_{}", role_key(role))));
            if role != ClickHouseRole::Admin {
                set("allow_databases/database", json!([db]));
            }
        }
    }
    Value::Object(users)
}

/// Before 23.1: writer may INSERT/SELECT but no DDL, readonly only SELECT.
fn profiles() -> Value {
    json!({
        "stackctl_admin/readonly": 0,
        "stackctl_admin/allow_ddl": 1,
        "stackctl_writer/readonly": 0,
        "stackctl_writer/allow_ddl": 0,
        "stackctl_readonly/readonly": 1,
        "stackctl_readonly/allow_ddl": 0,
    })
}
