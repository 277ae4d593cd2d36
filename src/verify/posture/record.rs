//! The posture record: a canonical JSON of what the running stack holds (no secret in it), and
//! the comparison with a saved one that lists every widening.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::parse::{self, ClickHouseUser, Listener};
use super::{container, containers_with_facts, properties_in};
use crate::engine::PublishedPort;
use crate::render::{self, FileId, TemplateSet};
use crate::settings::{AclBinding, KafkaRole, ServiceKind};
use crate::verify::Context;

/// The package's users file inside the ClickHouse image, and the directory merged over it.
const USERS_XML: &str = "/etc/clickhouse-server/users.xml";
const USERS_D: &str = "/etc/clickhouse-server/users.d";

/// What the stack holds, as observed. Every collection is ordered, so equal stacks give equal
/// bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posture {
    pub phase: u8,
    pub listeners: BTreeMap<String, RecordedListener>,
    pub super_users: BTreeSet<String>,
    /// `principal operation resource:name` per binding (phase 5; empty before).
    pub acls: BTreeSet<String>,
    /// Which principal each client logs in as.
    pub identities: BTreeMap<String, String>,
    pub clickhouse_users: BTreeMap<String, RecordedUser>,
    /// `address:host->container` per service.
    pub published: BTreeMap<String, BTreeSet<String>>,
    /// `cpus=…, memory=…` per service, or `none`.
    pub limits: BTreeMap<String, String>,
    pub restart: BTreeMap<String, String>,
    pub images: BTreeMap<String, String>,
    /// SHA-256 of each rendered file (a hash of a file holding a 40-character random secret
    /// reveals nothing of it).
    pub rendered: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedListener {
    pub protocol: String,
    pub principals: BTreeSet<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedUser {
    pub profile: Option<String>,
    pub grants: BTreeSet<String>,
    pub allow_databases: BTreeSet<String>,
}

impl From<Listener> for RecordedListener {
    fn from(l: Listener) -> RecordedListener {
        RecordedListener {
            protocol: l.protocol,
            principals: l.principals,
        }
    }
}

impl From<ClickHouseUser> for RecordedUser {
    fn from(u: ClickHouseUser) -> RecordedUser {
        RecordedUser {
            profile: u.profile,
            grants: u.grants.into_iter().collect(),
            allow_databases: u.allow_databases.into_iter().collect(),
        }
    }
}

/// Whether this users.d file is XML ClickHouse merges (it lowercases the extension first).
fn is_users_xml(name: &str) -> bool {
    std::path::Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
}

/// The effective ClickHouse users of the container `id`: users.xml, then users.d by file name.
pub(super) async fn clickhouse_users(
    ctx: &Context,
    id: &str,
) -> Result<BTreeMap<String, ClickHouseUser>, String> {
    let package = ctx
        .engine
        .read_file(id, USERS_XML)
        .await
        .map_err(|e| format!("copying {USERS_XML}: {e}"))?;
    let mut overrides = ctx
        .engine
        .read_files(id, USERS_D)
        .await
        .map_err(|e| format!("copying {USERS_D}: {e}"))?;
    overrides.sort();
    let mut users = BTreeMap::new();
    parse::apply_users_xml(&mut users, &String::from_utf8_lossy(&package))
        .map_err(|e| format!("{USERS_XML}: {e}"))?;
    for (name, xml) in overrides.iter().filter(|(n, _)| is_users_xml(n)) {
        parse::apply_users_xml(&mut users, &String::from_utf8_lossy(xml))
            .map_err(|e| format!("{USERS_D}/{name}: {e}"))?;
    }
    Ok(users)
}

fn acl_key(b: &AclBinding) -> String {
    b.to_string()
}

/// Observes the whole posture (concurrently where it can).
pub async fn observe(ctx: &Context) -> Result<Posture, String> {
    let s = &ctx.settings;
    let (broker, registry, worker) = futures_util::join!(
        properties_in(ctx, ServiceKind::Kafka, FileId::KafkaServer),
        properties_in(
            ctx,
            ServiceKind::SchemaRegistry,
            FileId::SchemaRegistryConfig
        ),
        properties_in(ctx, ServiceKind::Connect, FileId::ConnectWorker),
    );
    let (at, broker) = broker?;
    let broker = parse::broker(&broker).map_err(|e| format!("{at}: {e}"))?;
    let mut identities = BTreeMap::new();
    let (_, registry) = registry?;
    if let Some(u) = parse::client_user(&registry, "apicurio.kafka.common.")? {
        identities.insert("schema-registry".into(), u);
    }
    let (_, worker) = worker?;
    for prefix in ["", "producer.", "consumer.", "admin."] {
        if let Some(u) = parse::client_user(&worker, prefix)? {
            let client = match prefix.trim_end_matches('.') {
                "" => "worker",
                other => other,
            };
            identities.insert(format!("connect {client}"), u);
        }
    }
    let mut posture = Posture {
        phase: ctx.phase.number(),
        listeners: broker
            .listeners
            .into_iter()
            .map(|(k, v)| (k, v.into()))
            .collect(),
        super_users: broker.super_users,
        identities,
        ..Posture::default()
    };
    record_acls(ctx, &mut posture).await?;
    if ctx.phase.enforces_clickhouse_auth() {
        let ch = container(ctx, ServiceKind::ClickHouse).await?;
        posture.clickhouse_users = clickhouse_users(ctx, &ch.id)
            .await?
            .into_iter()
            .map(|(k, v)| (k, v.into()))
            .collect();
    }
    record_containers(ctx, &mut posture).await?;
    let templates = TemplateSet::load(&ctx.root).map_err(|e| e.to_string())?;
    let plan = render::plan(s, &ctx.secrets, ctx.phase, &templates).map_err(|e| e.to_string())?;
    posture.rendered = plan
        .files
        .iter()
        .map(|f| {
            (
                f.path.display().to_string(),
                hex::encode(Sha256::digest(&f.contents)),
            )
        })
        .collect();
    Ok(posture)
}

/// The broker's ACLs, once authorization is enforced (and the admin has a secret).
async fn record_acls(ctx: &Context, posture: &mut Posture) -> Result<(), String> {
    if ctx.phase.enforces_authorization()
        && let Some(admin) =
            crate::clients::Login::kafka(&ctx.settings, &ctx.secrets, KafkaRole::Admin)
    {
        let acls = ctx
            .endpoints
            .kafka()
            .acls(&admin)
            .await
            .map_err(|e| e.to_string())?;
        posture.acls = acls.modelled.iter().map(acl_key).collect();
        posture
            .acls
            .extend(acls.unmodelled.iter().map(ToString::to_string));
    }
    Ok(())
}

/// Each container's published ports, limits, restart policy and image.
async fn record_containers(ctx: &Context, posture: &mut Posture) -> Result<(), String> {
    for (c, f) in containers_with_facts(ctx).await? {
        let ports = f.published.iter().map(port_key).collect();
        posture.published.insert(c.service.clone(), ports);
        posture.limits.insert(
            c.service.clone(),
            match (f.nano_cpus, f.memory_bytes) {
                (None, None) => "none".into(),
                (cpus, memory) => format!(
                    "cpus={:?}, memory={:?}",
                    cpus.map(|n| n as f64 / 1e9),
                    memory
                ),
            },
        );
        posture.restart.insert(c.service.clone(), f.restart);
        posture.images.insert(c.service.clone(), f.image_id);
    }
    Ok(())
}

fn port_key(p: &PublishedPort) -> String {
    format!("{}:{}->{}", p.host_ip, p.host_port, p.container_port)
}

/// Every way `now` holds more than `before`: a new listener, principal, super user, ACL,
/// ClickHouse user or grant, published port, a lost limit, a lower phase.
pub fn widenings(before: &Posture, now: &Posture) -> Vec<String> {
    let mut out = Vec::new();
    if now.phase < before.phase {
        out.push(format!(
            "phase lowered from {} to {}",
            before.phase, now.phase
        ));
    }
    for (name, l) in &now.listeners {
        match before.listeners.get(name) {
            None => out.push(format!("new listener {name} ({})", l.protocol)),
            Some(b) => {
                if b.protocol != l.protocol {
                    out.push(format!(
                        "listener {name}: protocol {} → {}",
                        b.protocol, l.protocol
                    ));
                }
                for p in l.principals.difference(&b.principals) {
                    out.push(format!("listener {name}: new principal {p}"));
                }
            }
        }
    }
    for u in now.super_users.difference(&before.super_users) {
        out.push(format!("new super user {u}"));
    }
    for a in now.acls.difference(&before.acls) {
        out.push(format!("new ACL {a}"));
    }
    for (k, who) in &now.identities {
        if before.identities.get(k).is_some_and(|b| b != who) {
            out.push(format!("{k} now logs in as {who}"));
        }
    }
    for (name, u) in &now.clickhouse_users {
        match before.clickhouse_users.get(name) {
            None => out.push(format!("new ClickHouse user {name}")),
            Some(b) => {
                if b.profile != u.profile {
                    out.push(format!(
                        "ClickHouse user {name}: profile {:?} → {:?}",
                        b.profile, u.profile
                    ));
                }
                for g in u.grants.difference(&b.grants) {
                    out.push(format!("ClickHouse user {name}: new grant {g}"));
                }
                for d in u.allow_databases.difference(&b.allow_databases) {
                    out.push(format!("ClickHouse user {name}: new database {d}"));
                }
            }
        }
    }
    for (service, ports) in &now.published {
        let empty = BTreeSet::new();
        for p in ports.difference(before.published.get(service).unwrap_or(&empty)) {
            out.push(format!("{service}: newly published {p}"));
        }
    }
    for (service, limits) in &now.limits {
        if limits == "none" && before.limits.get(service).is_some_and(|b| b != "none") {
            out.push(format!("{service}: limits removed"));
        }
    }
    out
}
