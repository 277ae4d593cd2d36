//! `start`, `stop` and `restart` of existing containers, and which services a command names
//! (with or without what they depend on). Stopping goes dependents first, starting in
//! dependency order, each wave concurrently and waited on until healthy.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{UpError, health, rolling};
use crate::clients::Login;
use crate::clients::kafka::Kafka;
use crate::compose::{Service, Stack};
use crate::engine::ContainerEngine;
use crate::engine::containers::ProjectContainer;
use crate::progress::Progress;
use crate::secrets::Redactor;

/// What happened to one service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceOutcome {
    pub service: String,
    /// `stopped`, `started`, `already running`, `already stopped`.
    pub action: String,
    /// After a start: the health it reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct LifecycleReport {
    pub services: Vec<ServiceOutcome>,
}

/// The services `names` selects (all when empty), or an error naming an unknown one.
/// With `dependencies`, what they depend on is included, transitively.
pub fn selected(
    stack: &Stack,
    names: &[String],
    dependencies: bool,
) -> Result<BTreeSet<String>, UpError> {
    if names.is_empty() {
        return Ok(stack.services.iter().map(|s| s.name.clone()).collect());
    }
    let mut chosen = BTreeSet::new();
    let mut pending: Vec<String> = super::cluster::expand_names(stack, names);
    while let Some(name) = pending.pop() {
        let Some(service) = stack.service(&name) else {
            return Err(UpError::Step(format!(
                "unknown service `{name}`; known: {}",
                stack.service_names()
            )));
        };
        if chosen.insert(name) && dependencies {
            pending.extend(service.depends_on.iter().cloned());
        }
    }
    Ok(chosen)
}

/// The selected services' containers, wave by wave in start order; a selected service without a
/// container is an error (it was never created, or `down` removed it).
fn waves<'a>(
    stack: &'a Stack,
    chosen: &BTreeSet<String>,
    containers: &'a [ProjectContainer],
) -> Result<Vec<Vec<(&'a Service, &'a ProjectContainer)>>, UpError> {
    let mut out = Vec::new();
    for wave in stack.start_waves() {
        let mut group = Vec::new();
        for service in wave.into_iter().filter(|s| chosen.contains(&s.name)) {
            let container = containers
                .iter()
                .find(|c| c.service == service.name)
                .ok_or_else(|| UpError::Service {
                    service: service.name.clone(),
                    message: "has no container; run `stackctl up` to create it".into(),
                })?;
            group.push((service, container));
        }
        if !group.is_empty() {
            out.push(group);
        }
    }
    Ok(out)
}

/// Stops the selected services' containers, dependents first.
pub async fn stop<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    names: &[String],
    progress: &dyn Progress,
) -> Result<LifecycleReport, UpError> {
    let chosen = selected(stack, names, false)?;
    let containers = engine.project_containers(&stack.project).await?;
    let mut report = LifecycleReport::default();
    for wave in waves(stack, &chosen, &containers)?.into_iter().rev() {
        let stops = wave.iter().map(|(service, c)| async move {
            if c.state != "running" {
                return Ok::<_, UpError>(outcome(service, "already stopped", None));
            }
            progress.line(&service.name, "stopping");
            engine.stop(&c.id).await?;
            Ok(outcome(service, "stopped", None))
        });
        for result in futures_util::future::join_all(stops).await {
            report.services.push(result?);
        }
    }
    Ok(report)
}

/// Starts the selected services' containers in dependency order and waits until each is healthy.
/// With a `settler`, a Kafka node started into a cluster whose nodes are then all running is
/// waited on until every replica is back in sync (with a node still stopped that cannot happen,
/// and `start` says so instead).
pub async fn start<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    names: &[String],
    redactor: &Redactor,
    settler: Option<&Settler>,
    progress: &dyn Progress,
) -> Result<LifecycleReport, UpError> {
    let chosen = selected(stack, names, false)?;
    let containers = engine.project_containers(&stack.project).await?;
    let report = start_chosen(engine, stack, &chosen, &containers, redactor, progress).await?;
    if let Some(settler) = settler {
        settle_started_nodes(stack, &chosen, &containers, &report, settler, progress).await?;
    }
    Ok(report)
}

/// The waves of [`start`].
async fn start_chosen<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    chosen: &BTreeSet<String>,
    containers: &[ProjectContainer],
    redactor: &Redactor,
    progress: &dyn Progress,
) -> Result<LifecycleReport, UpError> {
    let mut report = LifecycleReport::default();
    for wave in waves(stack, chosen, containers)? {
        let starts = wave.iter().map(|(service, c)| async move {
            let action = if c.state == "running" {
                "already running"
            } else {
                progress.line(&service.name, "starting");
                engine.start(&c.id).await?;
                "started"
            };
            let health = health::wait_healthy(engine, service, &c.id, redactor, progress).await?;
            Ok::<_, UpError>(outcome(service, action, Some(health)))
        });
        for result in futures_util::future::join_all(starts).await {
            report.services.push(result?);
        }
    }
    Ok(report)
}

/// After [`start`] started Kafka nodes: waits until every replica is in sync when no node is left
/// stopped, else names the nodes that keep the partitions under-replicated.
async fn settle_started_nodes(
    stack: &Stack,
    chosen: &BTreeSet<String>,
    containers: &[ProjectContainer],
    report: &LifecycleReport,
    settler: &Settler,
    progress: &dyn Progress,
) -> Result<(), UpError> {
    let nodes: Vec<&Service> = stack.services.iter().filter(|s| s.node.is_some()).collect();
    let Some(started) = report
        .services
        .iter()
        .filter(|o| o.action == "started")
        .find(|o| nodes.iter().any(|n| n.name == o.service))
    else {
        return Ok(());
    };
    if nodes.len() < 2 {
        return Ok(());
    }
    let stopped: Vec<&str> = nodes
        .iter()
        .filter(|n| !chosen.contains(&n.name))
        .filter(|n| {
            !containers
                .iter()
                .any(|c| c.service == n.name && c.state == "running")
        })
        .map(|n| n.name.as_str())
        .collect();
    if stopped.is_empty() {
        return rolling::settle_with(&settler.kafka, &settler.admin, &started.service, progress)
            .await;
    }
    progress.line(
        &started.service,
        &format!(
            "still stopped: {}; partitions stay under-replicated until it starts",
            stopped.join(", ")
        ),
    );
    Ok(())
}

/// How a rolling restart knows the cluster is whole again: a client and the admin login.
pub struct Settler {
    pub kafka: Kafka,
    pub admin: Login,
}

/// Stops, then starts, the selected services. With a `settler`, two or more running Kafka nodes
/// restart one at a time, each waited on until healthy and every replica is back in sync.
pub async fn restart<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    names: &[String],
    redactor: &Redactor,
    settler: Option<&Settler>,
    progress: &dyn Progress,
) -> Result<LifecycleReport, UpError> {
    let chosen = selected(stack, names, false)?;
    let containers = engine.project_containers(&stack.project).await?;
    let nodes: Vec<(&Service, &ProjectContainer)> = waves(stack, &chosen, &containers)?
        .into_iter()
        .flatten()
        .filter(|(s, c)| s.node.is_some() && c.state == "running")
        .collect();
    let mut report = LifecycleReport::default();
    let rest: Vec<String> = match settler {
        Some(settler) if nodes.len() > 1 => {
            for (service, c) in &nodes {
                progress.line(&service.name, "rolling restart: stopping this node only");
                engine.stop(&c.id).await?;
                engine.start(&c.id).await?;
                let health =
                    health::wait_healthy(engine, service, &c.id, redactor, progress).await?;
                rolling::settle_with(&settler.kafka, &settler.admin, &service.name, progress)
                    .await?;
                report
                    .services
                    .push(outcome(service, "restarted", Some(health)));
            }
            chosen
                .iter()
                .filter(|n| !nodes.iter().any(|(s, _)| &s.name == *n))
                .cloned()
                .collect()
        }
        _ => chosen.iter().cloned().collect(),
    };
    if rest.is_empty() {
        return Ok(report);
    }
    stop(engine, stack, &rest, progress).await?;
    let mut started = start(engine, stack, &rest, redactor, None, progress).await?;
    report.services.append(&mut started.services);
    for s in &mut report.services {
        s.action = "restarted".into();
    }
    Ok(report)
}

fn outcome(service: &Service, action: &str, health: Option<String>) -> ServiceOutcome {
    ServiceOutcome {
        service: service.name.clone(),
        action: action.into(),
        health,
    }
}
