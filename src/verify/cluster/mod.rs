//! The Kafka cluster, node by node: SASL enforced on every node's published listener, each
//! node's effective configuration (posture per node), the KRaft quorum healthy, and no partition
//! offline or under-replicated. At one node the same checks run against the one node.

mod quorum;

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Check, Context, Outcome, check, fail, pass};
use crate::clients::Login;
use crate::clients::cluster::unhealthy;
use crate::clients::kafka::{Kafka, LoginOutcome, Security};
use crate::render::FileId;
use crate::secrets::Secret;
use crate::settings::{KafkaNode, KafkaRole};

const PROBE: Duration = Duration::from_secs(8);

fn admin(ctx: &Context) -> Option<Login> {
    Login::kafka(&ctx.settings, &ctx.secrets, KafkaRole::Admin)
}

/// A client that bootstraps from this node only.
fn on(node: &KafkaNode) -> Kafka {
    Kafka::new(format!("localhost:{}", node.host_port))
}

/// Runs `per_node` for every node concurrently; passes only when every node passed.
async fn every_node<F, Fut>(ctx: &Context, per_node: F) -> Outcome
where
    F: Fn(KafkaNode) -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    let nodes = ctx.settings.kafka_nodes();
    let results = futures_util::future::join_all(nodes.iter().cloned().map(per_node)).await;
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    for (node, result) in nodes.iter().zip(results) {
        match result {
            Ok(m) => passed.push(format!("{}: {m}", node.service)),
            Err(m) => failed.push(format!("{}: {m}", node.service)),
        }
    }
    if failed.is_empty() {
        pass(passed.join("; "))
    } else {
        fail(failed.join("; "))
    }
}

/// Admin is accepted, a wrong password and a client without SASL are refused, on this node.
async fn sasl_on(node: KafkaNode, admin: Login) -> Result<String, String> {
    let k = on(&node);
    let wrong = Login {
        user: admin.user.clone(),
        password: Secret::new(format!("{}-wrong", admin.password.expose())),
    };
    let (admin, wrong) = (Security::Sasl(admin), Security::Sasl(wrong));
    let (good, bad, plain) = futures_util::join!(
        k.login(&admin, PROBE),
        k.login(&wrong, PROBE),
        k.login(&Security::Plaintext, PROBE),
    );
    match (good, bad, plain) {
        (
            LoginOutcome::Accepted,
            LoginOutcome::AuthenticationFailed(_),
            LoginOutcome::DisconnectedDuringHandshake(_),
        ) => Ok(format!(
            "port {}: login accepted, wrong password and plaintext refused",
            node.host_port
        )),
        (g, b, p) => Err(format!(
            "port {}: admin {g:?}; wrong password {b:?}; plaintext {p:?}",
            node.host_port
        )),
    }
}

/// The node's effective configuration (DescribeConfigs) against the settings.
async fn config_of(ctx: &Context, node: &KafkaNode, admin: &Login) -> Result<Vec<String>, String> {
    let s = &ctx.settings;
    let l = &s.kafka.listeners;
    let mut expected: BTreeMap<&str, String> = BTreeMap::from([
        ("node.id", node.id.to_string()),
        ("controller.quorum.voters", s.kafka_quorum_voters()),
        (
            "advertised.listeners",
            format!(
                "INTERNAL://{}:{},EXTERNAL://localhost:{}",
                node.service, l.internal, node.host_port
            ),
        ),
        (
            "listener.security.protocol.map",
            "INTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,EXTERNAL:SASL_PLAINTEXT".into(),
        ),
        ("sasl.mechanism.controller.protocol", "PLAIN".into()),
        ("min.insync.replicas", s.min_insync_replicas.to_string()),
        (
            "default.replication.factor",
            s.replication_factor.to_string(),
        ),
    ]);
    if ctx.phase.enforces_authorization() {
        expected.insert(
            "authorizer.class.name",
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer".into(),
        );
    }
    let keys: Vec<&str> = expected.keys().copied().collect();
    // Settings validation keeps node ids within int32 (Kafka's wire type).
    let node_id = i32::try_from(node.id).map_err(|e| e.to_string())?;
    let values = on(node)
        .broker_config(admin, node_id, &keys)
        .await
        .map_err(|e| e.to_string())?;
    Ok(keys
        .iter()
        .zip(values)
        .filter(|(k, v)| v.as_deref() != Some(expected[*k].as_str()))
        .map(|(k, v)| format!("{k} is {v:?}, expected {:?}", expected[*k]))
        .collect())
}

/// What the node's container really reads (DescribeConfigs hides these): its super users and the
/// users its controller listener accepts.
async fn file_facts(ctx: &Context, node: &KafkaNode) -> Result<(String, Vec<String>), String> {
    let service = ctx
        .stack
        .service(&node.service)
        .ok_or_else(|| format!("the compose model has no service {}", node.service))?;
    let target = service
        .files
        .iter()
        .find(|f| f.file == FileId::KafkaServer)
        .map(|f| f.target.clone())
        .ok_or("mounts no server.properties")?;
    let containers = ctx
        .engine
        .project_containers(&ctx.settings.project)
        .await
        .map_err(|e| e.to_string())?;
    let c = containers
        .iter()
        .find(|c| c.service == node.service)
        .ok_or_else(|| format!("no {} container", node.service))?;
    let bytes = ctx
        .engine
        .read_file(&c.id, &target)
        .await
        .map_err(|e| e.to_string())?;
    let props = super::posture::parse::properties(&bytes)?;
    let jaas = props
        .get("listener.name.controller.plain.sasl.jaas.config")
        .ok_or("no JAAS config for the controller listener")?;
    let users = jaas
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("user_"))
        .filter_map(|w| w.split_once('=').map(|(u, _)| u.to_string()))
        .collect();
    Ok((props.get("super.users").cloned().unwrap_or_default(), users))
}

async fn posture_of(ctx: &Context, node: KafkaNode) -> Result<String, String> {
    let admin = admin(ctx).ok_or("no secret for admin")?;
    let mut wrong = config_of(ctx, &node, &admin).await?;
    let (super_users, users) = file_facts(ctx, &node).await?;
    if super_users != format!("User:{}", admin.user) {
        wrong.push(format!(
            "super.users is `{super_users}`, expected only User:{}",
            admin.user
        ));
    }
    if users != [admin.user.clone()] {
        wrong.push(format!(
            "the controller listener accepts {users:?}, expected only {:?}",
            admin.user
        ));
    }
    if wrong.is_empty() {
        Ok(format!(
            "node.id {}, advertised localhost:{}, SASL everywhere, super user and controller login {} only",
            node.id, node.host_port, admin.user
        ))
    } else {
        Err(wrong.join("; "))
    }
}

async fn quorum_healthy(ctx: &Context) -> Outcome {
    let nodes = ctx.settings.kafka_nodes();
    let expected: Vec<u32> = nodes.iter().map(|n| n.id).collect();
    let containers = match ctx.engine.project_containers(&ctx.settings.project).await {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    // Ask the first node that runs; any voter knows the quorum.
    let Some(c) = nodes.iter().find_map(|n| {
        containers
            .iter()
            .find(|c| c.service == n.service && c.state == "running")
    }) else {
        return fail("no Kafka node is running");
    };
    match quorum::describe(ctx.engine.as_ref(), &c.id).await {
        Ok(members) => match quorum::judge(&members, &expected) {
            Ok(m) => pass(format!("{m} (kafka-metadata-quorum in {})", c.name)),
            Err(m) => fail(m),
        },
        Err(e) => fail(e),
    }
}

async fn partitions_replicated(ctx: &Context) -> Outcome {
    let Some(admin) = admin(ctx) else {
        return fail("no secret for admin");
    };
    let partitions = match ctx.endpoints.kafka().partitions(&admin, PROBE).await {
        Ok(p) => p,
        Err(e) => return fail(format!("reading the metadata as {}: {e}", admin.user)),
    };
    let rf = usize::from(ctx.settings.replication_factor);
    let ours = crate::orchestrate::topic_plan(&ctx.settings, ctx.phase);
    let mut wrong = unhealthy(&partitions);
    for p in partitions
        .iter()
        .filter(|p| ours.iter().any(|t| t.name == p.topic))
    {
        if p.replicas.len() != rf {
            wrong.push(format!(
                "{}-{} has {} replica(s), replication_factor is {rf}",
                p.topic,
                p.partition,
                p.replicas.len()
            ));
        }
    }
    if wrong.is_empty() {
        pass(format!(
            "{} partition(s), each with a leader and every replica in sync; stackctl's topics at RF {rf}",
            partitions.len()
        ))
    } else {
        fail(wrong.join("; "))
    }
}

pub fn checks() -> Vec<Check> {
    vec![
        check!("cluster.nodes.sasl", "cluster", from KafkaAuth, Negative, 40, "every node's published listener accepts SASL logins and refuses a wrong password and plaintext", |ctx| {
            let Some(admin) = admin(ctx) else { return fail("no secret for admin") };
            every_node(ctx, |node| sasl_on(node, admin.clone())).await
        }),
        check!("cluster.nodes.posture", "cluster", from KafkaAuth, Positive, 40, "every node runs with its node id, addresses, SASL-only listeners, super user, authorizer and replication settings; its controller listener admits only admin", |ctx| {
            every_node(ctx, |node| posture_of(ctx, node)).await
        }),
        check!("cluster.quorum", "cluster", from KafkaAuth, Positive, 70, "the KRaft quorum has every node as a voter, one leader, every follower caught up", |ctx| {
            quorum_healthy(ctx).await
        }),
        check!("cluster.partitions", "cluster", from KafkaAuth, Positive, 30, "no partition is offline or under-replicated; stackctl's topics have replication_factor replicas", |ctx| {
            partitions_replicated(ctx).await
        }),
    ]
}
