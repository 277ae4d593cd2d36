//! The posture checks: each compares one class of what the running stack holds with what the
//! settings declare, and fails on anything more, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{container, containers_with_facts, parse, properties_in};
use crate::clients::Login;
use crate::engine::PublishedPort;
use crate::render::FileId;
use crate::settings::{ClickHouseRole, KafkaRole, ServiceKind, Settings};
use crate::verify::{Check, Context, Outcome, check, fail, pass, warn};

/// The listeners the broker may have, and who may log in to each.
fn declared_listeners(settings: &Settings) -> BTreeMap<String, BTreeSet<String>> {
    let admin = settings.kafka.principals.admin.clone();
    let everyone: BTreeSet<String> = KafkaRole::ALL
        .into_iter()
        .map(|r| settings.kafka_principal(r).user().to_string())
        .collect();
    BTreeMap::from([
        ("CONTROLLER".to_string(), BTreeSet::from([admin])),
        ("INTERNAL".to_string(), everyone.clone()),
        ("EXTERNAL".to_string(), everyone),
    ])
}

/// Listeners the broker has but the settings do not, principals a listener accepts beyond the
/// declared ones, and declared listeners whose logins cannot be read (absent, without SASL, or
/// without a PLAIN login section): who those accept is unknown, which is never a pass.
pub(super) fn listener_findings(
    broker: &parse::BrokerConfig,
    declared: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let mut more = Vec::new();
    for (name, listener) in &broker.listeners {
        let sasl = listener.protocol.starts_with("SASL_");
        match declared.get(name) {
            None if !sasl => more.push(format!(
                "undeclared listener {name} ({}) accepts anyone as User:ANONYMOUS",
                listener.protocol
            )),
            None => more.push(format!(
                "undeclared listener {name} ({}) accepting {:?}",
                listener.protocol, listener.principals
            )),
            Some(_) if !sasl => more.push(format!(
                "listener {name} uses {}, not SASL: it accepts anyone as User:ANONYMOUS",
                listener.protocol
            )),
            Some(_) if listener.principals.is_empty() => more.push(format!(
                "listener {name} has no PLAIN login section (listener.name.{}.plain.sasl.jaas.config), so whom it accepts cannot be read",
                name.to_ascii_lowercase()
            )),
            Some(allowed) => {
                let extra: Vec<&String> = listener.principals.difference(allowed).collect();
                if !extra.is_empty() {
                    more.push(format!(
                        "listener {name} accepts undeclared principal(s) {extra:?}"
                    ));
                }
            }
        }
    }
    for name in declared
        .keys()
        .filter(|n| !broker.listeners.contains_key(*n))
    {
        more.push(format!(
            "declared listener {name} is not among the broker's listeners, so whom it accepts cannot be read"
        ));
    }
    more
}

/// What is wrong with the super users, when they are not exactly `admin`.
pub(super) fn super_user_finding(supers: &BTreeSet<String>, admin: &str) -> Option<String> {
    (supers != &BTreeSet::from([admin.to_string()]))
        .then(|| format!("super.users is {supers:?}; it must be exactly {admin}"))
}

/// What is wrong with a container's limits, when they are not the declared ones.
pub(super) fn limit_finding(
    service: &str,
    facts: &crate::engine::ContainerFacts,
    declared: &crate::settings::Resources,
) -> Option<String> {
    // The same conversion compose applies to the declared count.
    let cpus = crate::compose::nano_cpus(declared.cpus);
    // None (beyond i64 bytes) matches no container's limit.
    let memory = i64::try_from(declared.memory_mb)
        .ok()
        .and_then(|mb| mb.checked_mul(1 << 20));
    (facts.nano_cpus != Some(cpus) || facts.memory_bytes != memory).then(|| {
        format!(
            "{service}: cpus {:?}, memory {:?} bytes; declared {} CPU, {} MiB (services.{service}.resources)",
            facts.nano_cpus.map(|n| n as f64 / 1e9),
            facts.memory_bytes,
            declared.cpus,
            declared.memory_mb,
        )
    })
}

async fn kafka_principals(ctx: &Context) -> Outcome {
    let (at, props) = match properties_in(ctx, ServiceKind::Kafka, FileId::KafkaServer).await {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let broker = match parse::broker(&props) {
        Ok(b) => b,
        Err(e) => return fail(format!("{at}: {e}")),
    };
    let more = listener_findings(&broker, &declared_listeners(&ctx.settings));
    if more.is_empty() {
        pass(format!(
            "{at}: {} listener(s), each accepting only its declared principals (controller: admin only)",
            broker.listeners.len()
        ))
    } else {
        fail(format!(
            "{at}: {} (templates/kafka/server.properties.j2)",
            more.join("; ")
        ))
    }
}

async fn super_users(ctx: &Context) -> Outcome {
    let (at, props) = match properties_in(ctx, ServiceKind::Kafka, FileId::KafkaServer).await {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let supers = match parse::broker(&props) {
        Ok(b) => b.super_users,
        Err(e) => return fail(format!("{at}: {e}")),
    };
    let admin = format!("User:{}", ctx.settings.kafka.principals.admin);
    match super_user_finding(&supers, &admin) {
        None => pass(format!("{at}: super.users is exactly {admin}")),
        Some(wrong) => fail(format!("{at}: {wrong}")),
    }
}

/// Each service logs in to Kafka (and the sink to ClickHouse) as its own principal.
async fn identities(ctx: &Context) -> Outcome {
    let s = &ctx.settings;
    let mut wrong = Vec::new();
    let mut seen = 0;
    let mut expect = |at: &str, what: &str, got: Option<String>, want: &str| {
        seen += 1;
        if got.as_deref() != Some(want) {
            wrong.push(format!("{at}: {what} logs in as {got:?}, not {want}"));
        }
    };
    match properties_in(
        ctx,
        ServiceKind::SchemaRegistry,
        FileId::SchemaRegistryConfig,
    )
    .await
    {
        Ok((at, props)) => expect(
            &at,
            "the registry's Kafka clients",
            parse::client_user(&props, "apicurio.kafka.common.").unwrap_or(None),
            s.kafka_principal(KafkaRole::SchemaRegistry).user(),
        ),
        Err(e) => return fail(e),
    }
    match properties_in(ctx, ServiceKind::Connect, FileId::ConnectWorker).await {
        Ok((at, props)) => {
            for prefix in ["", "producer.", "consumer.", "admin."] {
                expect(
                    &at,
                    &format!(
                        "the worker's {}client",
                        if prefix.is_empty() { "" } else { prefix }
                    ),
                    parse::client_user(&props, prefix).unwrap_or(None),
                    s.kafka_principal(KafkaRole::Connect).user(),
                );
            }
        }
        Err(e) => return fail(e),
    }
    if ctx.phase.enforces_clickhouse_auth() {
        match properties_in(ctx, ServiceKind::Connect, FileId::ConnectClickHouseWriter).await {
            Ok((at, props)) => expect(
                &at,
                "the sink's ClickHouse login",
                props.get("user").cloned(),
                s.clickhouse_principal(ClickHouseRole::Writer).user(),
            ),
            Err(e) => return fail(e),
        }
    }
    if wrong.is_empty() {
        pass(format!("{seen} client logins, each its own principal"))
    } else {
        fail(wrong.join("; "))
    }
}

/// ClickHouse holds exactly the declared users: the package's users.xml, then every file in
/// users.d in the order the server merges them.
async fn clickhouse_users(ctx: &Context) -> Outcome {
    let c = match container(ctx, ServiceKind::ClickHouse).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let users = match super::record::clickhouse_users(ctx, &c.id).await {
        Ok(u) => u,
        Err(e) => return fail(e),
    };
    let declared: BTreeSet<String> = ClickHouseRole::ALL
        .into_iter()
        .map(|r| ctx.settings.clickhouse_principal(r).user().to_string())
        .collect();
    let extra: Vec<&String> = users.keys().filter(|u| !declared.contains(*u)).collect();
    // Not finding the declared users means the files were not read as the server reads them.
    let missing: Vec<&String> = declared
        .iter()
        .filter(|u| !users.contains_key(*u))
        .collect();
    if ctx.phase.enforces_clickhouse_auth() && !missing.is_empty() {
        return fail(format!(
            "{}: declared ClickHouse user(s) {missing:?} not found in users.xml / users.d, so what the server holds was not read; run `stackctl up`",
            c.name
        ));
    }
    if extra.is_empty() {
        pass(format!(
            "{}: users {:?} only, `default` gone",
            c.name,
            users.keys().collect::<Vec<_>>()
        ))
    } else {
        fail(format!(
            "{}: undeclared ClickHouse user(s) {extra:?} (users.xml / users.d); declared: {declared:?}",
            c.name
        ))
    }
}

async fn exposure(ctx: &Context) -> Outcome {
    let address = ctx.settings.publish_address.to_string();
    let declared: BTreeSet<(String, PublishedPort)> = ctx
        .settings
        .published_ports_by_service()
        .into_iter()
        .map(|(service, host, container)| {
            (
                service,
                PublishedPort {
                    host_ip: address.clone(),
                    host_port: host.to_string(),
                    container_port: container,
                },
            )
        })
        .collect();
    let containers = match containers_with_facts(ctx).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let mut more = Vec::new();
    for (c, facts) in &containers {
        for p in &facts.published {
            if !declared.contains(&(c.service.clone(), p.clone())) {
                more.push(format!(
                    "{} publishes {}:{}->{} (declared: {address} and the host ports in configs/stack.yaml)",
                    c.service, p.host_ip, p.host_port, p.container_port
                ));
            }
        }
    }
    if more.is_empty() {
        pass(format!(
            "every published port binds {address} and is declared"
        ))
    } else {
        fail(more.join("; "))
    }
}

async fn limits_and_restart(ctx: &Context, limits: bool) -> Outcome {
    let containers = match containers_with_facts(ctx).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let mut wrong = Vec::new();
    for (c, facts) in &containers {
        let Some(declared) = ctx.settings.service_settings(&c.service) else {
            wrong.push(format!(
                "container {} belongs to no declared service",
                c.name
            ));
            continue;
        };
        if limits {
            wrong.extend(limit_finding(&c.service, facts, &declared.resources));
        } else if facts.restart != declared.restart.as_str() {
            wrong.push(format!(
                "{}: restart policy `{}`, declared `{}` (services.{}.restart)",
                c.service,
                facts.restart,
                declared.restart.as_str(),
                c.service
            ));
        }
    }
    match (wrong.is_empty(), limits) {
        (true, true) => pass(format!(
            "{} container(s) run with their declared CPU and memory limits",
            containers.len()
        )),
        (true, false) => pass(format!(
            "{} container(s) have their declared restart policy",
            containers.len()
        )),
        (false, _) => fail(wrong.join("; ")),
    }
}

async fn images(ctx: &Context) -> Outcome {
    let containers = match containers_with_facts(ctx).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let mut wrong = Vec::new();
    for (c, facts) in &containers {
        // The stack's image: for a recipe, the tag of its identity.
        let Some(declared) = ctx.stack.service(&c.service) else {
            wrong.push(format!(
                "{} belongs to service `{}`, which the stack does not declare (remove it: `stackctl down`, then `up`)",
                c.name, c.service
            ));
            continue;
        };
        match ctx.engine.image_id(&declared.image).await {
            Ok(Some(id)) if id == facts.image_id => {}
            Ok(Some(id)) => wrong.push(format!(
                "{} runs image {} but {} is {id} (run `stackctl up`)",
                c.service, facts.image_id, declared.image
            )),
            Ok(None) => wrong.push(format!(
                "{}: image {} is not present",
                c.service, declared.image
            )),
            Err(e) => wrong.push(format!(
                "{}: cannot ask the engine for image {}: {e}",
                c.service, declared.image
            )),
        }
    }
    if wrong.is_empty() {
        pass(format!(
            "{} container(s) run the images stackctl built or was told to use",
            containers.len()
        ))
    } else {
        fail(wrong.join("; "))
    }
}

/// The sink's ClickHouse user cannot reach outside through table functions. ClickHouse before 20
/// has no way to forbid them to a user that may INSERT: that is a warning with the reason.
async fn table_functions(ctx: &Context) -> Outcome {
    let Some(writer) = Login::clickhouse(&ctx.settings, &ctx.secrets, ClickHouseRole::Writer)
    else {
        return fail("no secret for the ClickHouse writer");
    };
    let ch = ctx.endpoints.clickhouse(Duration::from_secs(10));
    // Port 1 on loopback: a usable url() fails to connect; a forbidden one is refused first.
    let sql = "SELECT * FROM url('http://127.0.0.1:1/stackctl-verify', CSV, 'x String')";
    let answer = match ch.query(Some(&writer), sql, None).await {
        Ok(a) => a,
        Err(e) => return fail(format!("no answer from ClickHouse ({e})")),
    };
    match answer.code {
        // readonly (164) or a missing grant (497): the function is out of reach.
        Some(164 | 497) => pass(format!("writer: url() refused with code {:?}", answer.code)),
        _ if !ctx.settings.clickhouse_supports_xml_grants() => warn(format!(
            "writer can call url()/file()/remote() (url() answered code {:?}): ClickHouse {} has no \
             grants in users XML, and the only profile switch that forbids table functions \
             (readonly) forbids INSERT too; servers from 23.1 get grants that close this",
            answer.code, ctx.settings.clickhouse.version
        )),
        code => fail(format!(
            "writer can call url() (answered code {code:?}): its grants must not include URL, FILE or REMOTE sources"
        )),
    }
}

pub fn checks() -> Vec<Check> {
    vec![
        check!("posture.kafka-principals", "posture", from KafkaAuth, Negative, 15, "each broker listener accepts exactly the declared principals (controller: admin only)", |ctx| kafka_principals(ctx).await),
        check!("posture.super-users", "posture", from KafkaAuth, Negative, 15, "super.users is exactly the admin principal", |ctx| super_users(ctx).await),
        check!("posture.identities", "posture", from KafkaAuth, Negative, 15, "each service logs in as its own principal", |ctx| identities(ctx).await),
        check!("posture.clickhouse-users", "posture", from ClickHouseAuth, Negative, 15, "ClickHouse has exactly the declared users", |ctx| clickhouse_users(ctx).await),
        check!("posture.exposure", "posture", from KafkaAuth, Negative, 15, "every published port binds the declared address; nothing else is published", |ctx| exposure(ctx).await),
        check!("posture.limits", "posture", from Hardening, Negative, 15, "every container runs with its declared CPU and memory limits", |ctx| limits_and_restart(ctx, true).await),
        check!("posture.restart", "posture", from KafkaAuth, Negative, 15, "every container has its declared restart policy", |ctx| limits_and_restart(ctx, false).await),
        check!("posture.images", "posture", from KafkaAuth, Negative, 15, "containers run the images stackctl built or was told to use", |ctx| images(ctx).await),
        check!("posture.rest-logins", "posture", from Authorization, Negative, 15, "the REST APIs accept exactly the declared logins", |ctx| super::rest::rest_logins(ctx).await),
        check!("posture.clickhouse-table-functions", "posture", from ClickHouseAuth, Negative, 15, "the ClickHouse writer cannot reach outside through table functions", |ctx| table_functions(ctx).await),
    ]
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
