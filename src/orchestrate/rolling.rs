//! Kafka nodes recreated one at a time while the cluster runs: each node is replaced, waited on
//! until healthy, then until no partition is offline or under-replicated (the node is back in
//! every ISR it belongs to, which it can only be once it has caught up with the quorum's
//! metadata) before the next node goes.

use std::time::{Duration, Instant};

use super::up::{Planned, bring_up};
use super::{Action, ServiceReport, UpError, UpInput};
use crate::clients::Login;
use crate::clients::cluster::unhealthy;
use crate::clients::kafka::Kafka;
use crate::compose::{Service, Stack};
use crate::engine::ContainerEngine;
use crate::engine::containers::ProjectContainer;
use crate::progress::Progress;
use crate::settings::KafkaRole;

/// How long the cluster may take to have every replica in sync again after a node restarts.
pub const SETTLE_BOUND: Duration = Duration::from_secs(300);

/// The nodes of `wave` to recreate one at a time: when more than one node is recreated and every
/// node of the stack runs now (so the others keep serving while one is away). Empty otherwise.
pub fn nodes_to_roll<'a>(
    stack: &Stack,
    wave: &[&'a Service],
    action: impl Fn(&str) -> Option<Action>,
    existing: &[ProjectContainer],
) -> Vec<&'a Service> {
    let nodes: Vec<&Service> = wave.iter().copied().filter(|s| s.node.is_some()).collect();
    let recreated: Vec<&Service> = nodes
        .iter()
        .copied()
        .filter(|s| action(&s.name) == Some(Action::Recreated))
        .collect();
    let all_running = stack.services.iter().filter(|s| s.node.is_some()).all(|s| {
        existing
            .iter()
            .any(|c| c.service == s.name && c.state == "running")
    });
    if recreated.len() > 1 && all_running {
        recreated
    } else {
        Vec::new()
    }
}

/// Recreates `nodes` one after the other, each followed by [`settle`].
pub async fn roll<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    nodes: &[&Service],
    plans: &std::collections::BTreeMap<String, Planned>,
    input: &UpInput<'_>,
    progress: &dyn Progress,
) -> Result<Vec<ServiceReport>, UpError> {
    let mut reports = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let plan = &plans[&node.name];
        progress.line(
            &node.name,
            &format!(
                "rolling: node {} of {}, the others keep serving",
                i + 1,
                nodes.len()
            ),
        );
        if let Some(id) = &plan.current_id {
            engine.remove(id).await?;
        }
        reports.push(bring_up(engine, stack, node, plan, input, progress).await?);
        settle(input, &node.name, progress).await?;
    }
    Ok(reports)
}

/// Waits until every partition has a leader and all its replicas in sync.
pub async fn settle(
    input: &UpInput<'_>,
    node: &str,
    progress: &dyn Progress,
) -> Result<(), UpError> {
    let admin = Login::kafka(input.settings, input.secrets, KafkaRole::Admin)
        .ok_or_else(|| UpError::Step("no secret for the Kafka admin principal".into()))?;
    settle_with(&input.endpoints.kafka(), &admin, node, progress).await
}

/// [`settle`] with a client and the admin login.
pub async fn settle_with(
    kafka: &Kafka,
    admin: &Login,
    node: &str,
    progress: &dyn Progress,
) -> Result<(), UpError> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < SETTLE_BOUND {
        match kafka.partitions(admin, Duration::from_secs(10)).await {
            Ok(p) => {
                let bad = unhealthy(&p);
                if bad.is_empty() {
                    progress.line(
                        node,
                        &format!(
                            "back in sync: {} partition(s) with every replica in sync after {:.1} s",
                            p.len(),
                            started.elapsed().as_secs_f64()
                        ),
                    );
                    return Ok(());
                }
                last = format!("{} partition(s) not in sync, e.g. {}", bad.len(), bad[0]);
            }
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(UpError::Service {
        service: node.to_string(),
        message: format!(
            "the cluster did not get every replica back in sync within {} s after this node restarted: {last}",
            SETTLE_BOUND.as_secs()
        ),
    })
}
