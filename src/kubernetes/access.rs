//! Who may reach what: the Secrets the manifests reference (values only with `--with-secrets`),
//! and NetworkPolicies admitting only the declared clients. A client pod declares which
//! principal it is with a label (`stackctl.io/kafka-principal: app`); nothing else gets in.

use std::fmt::Write as _;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Ctx, KubeError, Manifest, clickhouse, connect, registry};
use crate::render::escape;
use crate::secrets::SecretSet;
use crate::settings::{ClickHouseRole, KafkaRole, Principal, RestApi};

/// Pod label naming the Kafka principal a pod logs in as (role key: admin, schema-registry,
/// connect, app).
pub const KAFKA_LABEL: &str = "stackctl.io/kafka-principal";
/// Pod label naming the ClickHouse user a pod logs in as (admin, writer, readonly).
pub const CLICKHOUSE_LABEL: &str = "stackctl.io/clickhouse-user";
/// Pod label of a client of the registry's REST API (value `rest`).
pub const REGISTRY_LABEL: &str = "stackctl.io/schema-registry-client";

/// A Secret the manifests need: its name, the keys they read, how a user creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpec {
    pub name: String,
    pub keys: Vec<String>,
    /// The command that creates it from `secrets/` (prints nothing secret).
    pub create: String,
    /// The principal or purpose, for the report.
    pub holds: String,
}

pub fn kafka_role_label(role: KafkaRole) -> &'static str {
    match role {
        KafkaRole::Admin => "admin",
        KafkaRole::SchemaRegistry => "schema-registry",
        KafkaRole::Connect => "connect",
        KafkaRole::App => "app",
    }
}

pub(super) fn secret_specs(ctx: &Ctx) -> Vec<SecretSpec> {
    let ns = ctx.namespace;
    let derived = |name: &str| {
        format!(
            "stackctl render --target kubernetes --phase {} --namespace {ns} --with-secrets --out DIR && kubectl apply -f DIR/secrets/{name}.yaml",
            ctx.phase.number()
        )
    };
    let mut specs = Vec::new();
    for role in KafkaRole::ALL {
        let principal = ctx.settings.kafka_principal(role);
        let name = ctx.names.kafka_secret(role);
        specs.push(SecretSpec {
            create: format!(
                "kubectl -n {ns} create secret generic {name} --from-file=password=secrets/{}.password",
                principal.id()
            ),
            name,
            keys: vec!["password".into()],
            holds: principal.id(),
        });
    }
    for role in ClickHouseRole::ALL {
        let name = clickhouse::user_secret(ctx, role);
        specs.push(SecretSpec {
            create: derived(&name),
            name,
            keys: vec![clickhouse::HASH_KEY.into()],
            holds: ctx.settings.clickhouse_principal(role).id(),
        });
    }
    let client = clickhouse::admin_client_secret(ctx);
    specs.push(SecretSpec {
        create: derived(&client),
        name: client,
        keys: vec![clickhouse::CLIENT_KEY.into()],
        holds: "the admin's clickhouse-client config (schema Job)".into(),
    });
    let writer = connect::writer_secret(ctx);
    specs.push(SecretSpec {
        create: derived(&writer),
        name: writer,
        keys: connect::WRITER_KEYS
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
        holds: "the sink's ClickHouse login (mounted into Connect)".into(),
    });
    let name = registry::secret(ctx);
    specs.push(SecretSpec {
        create: derived(&name),
        name,
        keys: vec![registry::SECRET_KEY.into()],
        holds: "the registry's Kafka login and REST digest".into(),
    });
    specs
}

/// The Secrets with their values (`--with-secrets`), one manifest each under `secrets/`.
pub(super) fn secrets(
    ctx: &Ctx,
    specs: &[SecretSpec],
    secrets: &SecretSet,
) -> Result<Vec<Manifest>, KubeError> {
    let s = ctx.settings;
    let value = |p: &Principal| {
        secrets
            .get(p)
            .map(|v| v.expose().to_string())
            .ok_or_else(|| KubeError::MissingSecret(p.id()))
    };
    let mut data: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for role in KafkaRole::ALL {
        let password = value(&s.kafka_principal(role))?;
        data.push((
            ctx.names.kafka_secret(role),
            vec![("password".into(), password)],
        ));
    }
    for role in ClickHouseRole::ALL {
        let password = value(&s.clickhouse_principal(role))?;
        let hash = hex::encode(Sha256::digest(password.as_bytes()));
        data.push((
            clickhouse::user_secret(ctx, role),
            vec![(clickhouse::HASH_KEY.into(), hash)],
        ));
    }
    let admin = s.clickhouse_principal(ClickHouseRole::Admin);
    let xml = clickhouse::admin_client_xml(ctx, admin.user(), &value(&admin)?)
        .map_err(|e| escape_error("the ClickHouse admin's client config", e))?;
    data.push((
        clickhouse::admin_client_secret(ctx),
        vec![(clickhouse::CLIENT_KEY.into(), xml)],
    ));
    let writer = s.clickhouse_principal(ClickHouseRole::Writer);
    data.push((
        connect::writer_secret(ctx),
        vec![
            ("user".into(), writer.user().to_string()),
            ("password".into(), value(&writer)?),
        ],
    ));
    data.push((
        registry::secret(ctx),
        vec![(
            registry::SECRET_KEY.into(),
            registry_properties(ctx, &value)?,
        )],
    ));
    debug_assert_eq!(data.len(), specs.len());
    Ok(data
        .into_iter()
        .map(|(name, pairs)| {
            let string_data: serde_json::Map<String, Value> =
                pairs.into_iter().map(|(k, v)| (k, json!(v))).collect();
            let mut metadata = ctx.metadata(&name, "secret");
            metadata["labels"]["app.kubernetes.io/component"] = json!("secret");
            Manifest::new(
                format!("secrets/{name}.yaml"),
                json!({
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": metadata,
                    "type": "Opaque",
                    "stringData": string_data,
                }),
            )
        })
        .collect())
}

fn registry_properties(
    ctx: &Ctx,
    value: &dyn Fn(&Principal) -> Result<String, KubeError>,
) -> Result<String, KubeError> {
    let s = ctx.settings;
    let escape_err = |e| escape_error("the registry's secrets.properties", e);
    let password = value(&s.kafka_principal(KafkaRole::SchemaRegistry))?;
    let jaas = format!(
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{}\" password=\"{}\";",
        escape::jaas(registry::kafka_user(ctx)).map_err(escape_err)?,
        escape::jaas(&password).map_err(escape_err)?
    );
    let mut out = format!(
        "apicurio.kafka.common.sasl.jaas.config={}\n",
        escape::properties(&jaas).map_err(escape_err)?
    );
    if ctx.phase.enforces_authorization() {
        let rest = s.rest_principal(RestApi::SchemaRegistry);
        let digest = hex::encode(Sha256::digest(format!(
            "{}:Quarkus:{}",
            rest.user(),
            value(&rest)?
        )));
        let _ = writeln!(
            out,
            "quarkus.security.users.embedded.users.{}={digest}",
            escape::properties(rest.user()).map_err(escape_err)?
        );
    }
    Ok(out)
}

fn escape_error(what: &'static str, source: escape::EscapeError) -> KubeError {
    KubeError::Unrepresentable { what, source }
}

/// Strimzi's listener peers: pods that declare a Kafka principal.
pub(super) fn kafka_peers(_ctx: &Ctx) -> Value {
    let roles: Vec<&str> = KafkaRole::ALL.into_iter().map(kafka_role_label).collect();
    json!([{ "podSelector": { "matchExpressions": [
        { "key": KAFKA_LABEL, "operator": "In", "values": roles }
    ]}}])
}

/// NetworkPolicies for ClickHouse and the registry (Strimzi writes Kafka's and Connect's from
/// the listener peers and its own REST policy).
pub(super) fn network_policies(ctx: &Ctx) -> Vec<Manifest> {
    let s = ctx.settings;
    let ch_users: Vec<&str> = ClickHouseRole::ALL
        .into_iter()
        .map(clickhouse::role_key)
        .collect();
    let clickhouse = policy(
        ctx,
        "clickhouse",
        &json!({ "clickhouse.altinity.com/chi": ctx.names.project }),
        &json!([
            { "podSelector": { "matchExpressions": [
                { "key": CLICKHOUSE_LABEL, "operator": "In", "values": ch_users }
            ]}},
            // The operator reads the server's state from its own namespace.
            { "namespaceSelector": {}, "podSelector": { "matchLabels": { "app": "clickhouse-operator" } } },
        ]),
        &[s.clickhouse.http_port, s.clickhouse.native_port],
    );
    let registry = policy(
        ctx,
        "schema-registry",
        &registry::selector(ctx),
        &json!([{ "podSelector": { "matchLabels": { REGISTRY_LABEL: "rest" } } }]),
        &[s.schema_registry.port],
    );
    vec![clickhouse, registry]
}

fn policy(ctx: &Ctx, component: &str, selector: &Value, from: &Value, ports: &[u16]) -> Manifest {
    let name = format!("{}-{component}-clients", ctx.names.project);
    let ports: Vec<Value> = ports
        .iter()
        .map(|p| json!({ "protocol": "TCP", "port": p }))
        .collect();
    Manifest::new(
        format!("network/{component}.yaml"),
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": ctx.metadata(&name, component),
            "spec": {
                "podSelector": { "matchLabels": selector },
                "policyTypes": ["Ingress"],
                "ingress": [{ "from": from, "ports": ports }],
            },
        }),
    )
}
