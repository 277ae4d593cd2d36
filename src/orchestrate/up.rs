//! `up`: the compose model and the render plan driven through the engine, wave by wave.
//!
//! Incremental: each container carries a hash of everything that defines it (service definition,
//! image ID, the bytes of its files, taken from the plan); an unchanged, running container is kept.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::hash::config_hash;
use super::images::{Images, ensure_images, with_references};
use super::lifecycle::selected;
use super::{
    Action, ServiceReport, UpError, UpInput, UpOptions, UpReport, decide, health, post, rolling,
};
use crate::compose::{Service, Stack};
use crate::engine::ContainerEngine;
use crate::engine::containers::{FileCopy, ProjectContainer};
use crate::progress::Progress;
use crate::render::RenderPlan;
use crate::settings::ServiceKind;

/// A service's rendered files with their contents from the plan, in mount order.
pub fn file_copies<'a>(
    service: &'a Service,
    plan: &'a RenderPlan,
) -> Result<Vec<FileCopy<'a>>, UpError> {
    service
        .files
        .iter()
        .map(|mount| {
            Ok(FileCopy {
                mount,
                contents: plan.contents_on(mount.file, service.node)?.as_bytes(),
            })
        })
        .collect()
}

/// Brings the stack (or the services `options` names, with what they depend on) to the desired
/// state, wave by wave, then runs the post-start steps.
pub async fn up<E: ContainerEngine>(
    engine: &E,
    input: &UpInput<'_>,
    options: &UpOptions,
    progress: &dyn Progress,
) -> Result<UpReport, UpError> {
    let started = Instant::now();
    let chosen = selected(input.stack, &options.services, true)?;
    let only: Vec<String> = if options.services.is_empty() {
        Vec::new()
    } else {
        chosen.iter().cloned().collect()
    };
    let images = ensure_images(
        engine,
        input.stack,
        input.cas,
        options.build,
        &only,
        input.verbose,
        progress,
    )
    .await?;
    // From here on each service with a recipe runs the image named by its identity.
    let resolved = input.stack.with_images(&images.references);
    let stack = &resolved;
    for network in &stack.networks {
        engine.ensure_network(&stack.project, network).await?;
    }
    for volume in &stack.volumes {
        engine.ensure_volume(&stack.project, volume).await?;
    }
    let existing = engine.project_containers(&stack.project).await?;
    if let Some(why) = super::cluster::node_count_change(stack, &existing) {
        return Err(UpError::NodeCountChange(why));
    }
    check_host_ports(stack, &chosen, &existing)?;
    // Containers of services that the compose file no longer has (when the whole stack is up'd).
    for c in existing
        .iter()
        .filter(|c| options.services.is_empty() && stack.service(&c.service).is_none())
    {
        progress.line(&c.service, "removing: no longer in the compose file");
        engine.remove(&c.id).await?;
    }
    // Decide every service first. What will be recreated is stopped in reverse dependency order
    // (clients before the broker they use), so no client hangs on a broker that went away; then
    // everything starts in dependency order.
    let plans = plan_services(stack, &chosen, &images, &existing, input, options)?;
    // Kafka nodes to recreate one at a time (the cluster keeps a quorum): not removed up front.
    let rolled = rolled_nodes(stack, &plans, &existing, options);
    remove_recreated(engine, stack, &plans, &rolled, options, progress).await?;
    let mut reports = Vec::new();
    let mut steps = Vec::new();
    for wave in stack.start_waves() {
        let wave: Vec<&Service> = wave
            .into_iter()
            .filter(|s| chosen.contains(&s.name))
            .collect();
        let (wave_reports, wave_steps) =
            start_wave(engine, stack, &wave, &plans, &rolled, input, progress).await?;
        reports.extend(wave_reports);
        steps.extend(wave_steps);
    }
    let (major, minor) = engine.api_version();
    Ok(UpReport {
        phase: stack.phase,
        services: reports,
        steps,
        endpoints: input.endpoints.published(),
        seconds: started.elapsed().as_secs_f64(),
        api_version: format!("{major}.{minor}"),
    })
}

/// What `up` does with each chosen service, by its configuration hash and current container.
fn plan_services(
    stack: &Stack,
    chosen: &BTreeSet<String>,
    images: &Images,
    existing: &[ProjectContainer],
    input: &UpInput<'_>,
    options: &UpOptions,
) -> Result<BTreeMap<String, Planned>, UpError> {
    let mut plans: BTreeMap<String, Planned> = BTreeMap::new();
    for service in stack.services.iter().filter(|s| chosen.contains(&s.name)) {
        let image_id = images
            .ids
            .get(&service.name)
            .ok_or_else(|| UpError::Service {
                service: service.name.clone(),
                message: "no image was resolved for it".into(),
            })?;
        let hash = config_hash(service, image_id, &file_copies(service, input.plan)?);
        let current = existing.iter().find(|c| c.service == service.name);
        plans.insert(
            service.name.clone(),
            Planned {
                action: match decide(current, &hash) {
                    Action::Unchanged if options.force_recreate => Action::Recreated,
                    action => action,
                },
                current_id: current.map(|c| c.id.clone()),
                was_running_same: current.is_some_and(|c| c.hash == hash),
                hash,
            },
        );
    }
    Ok(plans)
}

/// Removes the containers to recreate, wave by wave in reverse dependency order; the Kafka
/// nodes in `rolled` are left running (the rolling recreation replaces them one at a time).
async fn remove_recreated<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    plans: &BTreeMap<String, Planned>,
    rolled: &[String],
    options: &UpOptions,
    progress: &dyn Progress,
) -> Result<(), UpError> {
    for wave in stack.start_waves().into_iter().rev() {
        let removals = wave.iter().filter_map(|service| {
            if rolled.contains(&service.name) {
                return None;
            }
            let plan = plans.get(&service.name)?;
            let id = plan
                .current_id
                .as_ref()
                .filter(|_| plan.action == Action::Recreated)?;
            progress.line(
                &service.name,
                if plan.was_running_same && options.force_recreate {
                    "recreating: --force-recreate"
                } else if plan.was_running_same {
                    "recreating: it was not running"
                } else {
                    "recreating: its definition or files changed"
                },
            );
            Some(engine.remove(id))
        });
        for result in futures_util::future::join_all(removals).await {
            result?;
        }
    }
    Ok(())
}

/// The Kafka nodes `up` recreates one at a time, waiting for each to rejoin before the next
/// (none with `--all-nodes-at-once`).
fn rolled_nodes(
    stack: &Stack,
    plans: &BTreeMap<String, Planned>,
    existing: &[ProjectContainer],
    options: &UpOptions,
) -> Vec<String> {
    if options.all_nodes_at_once {
        return Vec::new();
    }
    let action = |name: &str| plans.get(name).map(|p| p.action);
    stack
        .start_waves()
        .iter()
        .flat_map(|w| rolling::nodes_to_roll(stack, w, action, existing))
        .map(|s| s.name.clone())
        .collect()
}

/// Starts one wave: its services concurrently (the nodes in `rolled` one at a time), then the
/// post-start steps before dependents start (Kafka's once, for all nodes). Returns the services'
/// reports and the steps done.
async fn start_wave<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    wave: &[&Service],
    plans: &BTreeMap<String, Planned>,
    rolled: &[String],
    input: &UpInput<'_>,
    progress: &dyn Progress,
) -> Result<(Vec<ServiceReport>, Vec<String>), UpError> {
    let futures = wave
        .iter()
        .filter(|s| !rolled.contains(&s.name))
        .map(|service| {
            bring_up(
                engine,
                stack,
                service,
                &plans[&service.name],
                input,
                progress,
            )
        });
    let mut reports = Vec::new();
    for result in futures_util::future::join_all(futures).await {
        reports.push(result?);
    }
    let to_roll: Vec<&Service> = wave
        .iter()
        .copied()
        .filter(|s| rolled.contains(&s.name))
        .collect();
    reports.extend(rolling::roll(engine, stack, &to_roll, plans, input, progress).await?);
    let mut steps = Vec::new();
    let mut kafka_done = false;
    for service in wave {
        if service.node.is_some() {
            if kafka_done {
                continue;
            }
            kafka_done = true;
        }
        steps.extend(post::after_healthy(service, input, progress).await?);
    }
    Ok((reports, steps))
}

/// What `up` decided for one service before touching anything.
pub(super) struct Planned {
    pub(super) action: Action,
    pub(super) hash: String,
    pub(super) current_id: Option<String>,
    /// The current container has the right hash but is not running.
    pub(super) was_running_same: bool,
}

/// Starts one service as planned (its old container is already gone) and waits for health.
pub(super) async fn bring_up<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    service: &Service,
    plan: &Planned,
    input: &UpInput<'_>,
    progress: &dyn Progress,
) -> Result<ServiceReport, UpError> {
    let started = Instant::now();
    let action = plan.action;
    let id = if let (Action::Unchanged, Some(id)) = (action, &plan.current_id) {
        id.clone()
    } else {
        let files = file_copies(service, input.plan)?;
        let id = engine
            .create_service(stack, service, &plan.hash, &files)
            .await?;
        if let Err(e) = engine.start(&id).await {
            return Err(UpError::Service {
                service: service.name.clone(),
                message: health::explain_start_failure(&e.to_string(), service),
            });
        }
        progress.line(&service.name, "started");
        id
    };
    let health = health::wait_healthy(engine, service, &id, input.redactor, progress).await?;
    Ok(ServiceReport {
        service: service.name.clone(),
        action,
        health,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Fails before anything starts when a host port a service publishes is taken by another
/// process (ports our own running containers hold are fine).
fn check_host_ports(
    stack: &Stack,
    chosen: &std::collections::BTreeSet<String>,
    existing: &[ProjectContainer],
) -> Result<(), UpError> {
    for service in stack.services.iter().filter(|s| chosen.contains(&s.name)) {
        for port in &service.ports {
            if port_claimant(stack, port.host_port, existing).is_some() {
                continue;
            }
            if std::net::TcpListener::bind((port.host_ip.as_str(), port.host_port)).is_err() {
                return Err(UpError::Service {
                    service: service.name.clone(),
                    message: format!(
                        "host port {}:{} is already in use by a process outside project {} (no container of the project publishes it); free it or change {} in configs/stack.yaml",
                        port.host_ip,
                        port.host_port,
                        stack.project,
                        ServiceKind::from_name(&service.name)
                            .map_or("its host port", ServiceKind::host_port_setting)
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The container of the project that may hold host port `port`, whatever its state: one the
/// engine lists with that port, or one of a service that publishes it. A container restarting
/// under its restart policy lists no ports but still holds them; `up` replaces it, so the port
/// is ours, never "another process".
pub(crate) fn port_claimant<'a>(
    stack: &Stack,
    port: u16,
    existing: &'a [ProjectContainer],
) -> Option<&'a ProjectContainer> {
    let listed = format!(":{port}->");
    existing.iter().find(|c| {
        c.ports.iter().any(|p| p.contains(&listed))
            || stack
                .service(&c.service)
                .is_some_and(|s| s.ports.iter().any(|p| p.host_port == port))
    })
}

/// Recreates one service's container as `service` describes it with the files of `input.plan`
/// (both may differ from what `up` would make) and waits until it is healthy. Used by tests that
/// break the stack on purpose; the next `up` replaces the container.
pub async fn recreate_service<E: ContainerEngine>(
    engine: &E,
    service: &Service,
    input: &UpInput<'_>,
    progress: &dyn Progress,
) -> Result<(), UpError> {
    let stack = &with_references(engine, input.stack).await?;
    // The image of the recipe's identity, unless the caller chose another one.
    let declared = input.stack.service(&service.name).map(|s| s.image.as_str());
    let service = &match stack.service(&service.name) {
        Some(resolved) if declared == Some(service.image.as_str()) => Service {
            image: resolved.image.clone(),
            ..service.clone()
        },
        _ => service.clone(),
    };
    for c in engine
        .project_containers(&stack.project)
        .await?
        .iter()
        .filter(|c| c.service == service.name)
    {
        engine.remove(&c.id).await?;
    }
    let plan = Planned {
        action: Action::Recreated,
        // A hash no real definition has, so the next `up` replaces this container.
        hash: "modified-outside-up".into(),
        current_id: None,
        was_running_same: false,
    };
    bring_up(engine, stack, service, &plan, input, progress).await?;
    Ok(())
}

#[cfg(test)]
mod port_tests {
    use super::*;
    use crate::settings::{Phase, Settings};

    fn stack() -> Stack {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let settings = Settings::load(root).expect("settings");
        crate::compose::load(root, &settings, Phase::MAX).expect("compose")
    }

    fn kafka(state: &str, ports: &[&str]) -> ProjectContainer {
        ProjectContainer {
            id: "k".into(),
            name: "stackctl-kafka-1".into(),
            service: "kafka".into(),
            hash: "h".into(),
            phase: Some(Phase::MAX),
            state: state.into(),
            health: None,
            ports: ports.iter().map(std::string::ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_restarting_container_of_the_project_holds_its_port_as_ours() {
        let stack = stack();
        let port = stack.service("kafka").expect("kafka").ports[0].host_port;
        // Restarting under its policy: the engine lists no ports, but it is the project's.
        for state in ["restarting", "running", "exited", "created", "dead"] {
            let existing = [kafka(state, &[])];
            assert!(port_claimant(&stack, port, &existing).is_some(), "{state}");
        }
        let listed = [kafka("running", &[&format!("127.0.0.1:{port}->9094/tcp")])];
        assert!(port_claimant(&stack, port, &listed).is_some());
    }

    #[test]
    fn a_port_no_container_of_the_project_publishes_is_not_ours() {
        let stack = stack();
        assert!(port_claimant(&stack, 1, &[kafka("restarting", &[])]).is_none());
        assert!(port_claimant(&stack, 19092, &[]).is_none());
    }
}
