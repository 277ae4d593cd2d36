//! `up`, `down`, `status` and `images build`: the compose model driven through the engine.
//!
//! `up` is incremental: each container carries a hash of everything that defines it (service
//! definition, image ID, the bytes of its files); an unchanged, running container is kept.

mod health;
mod post;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::compose::{Service, Stack};
use crate::config::Settings;
use crate::engine::containers::ProjectContainer;
use crate::engine::images::{BuildRequest, CaCertificates, Progress};
use crate::engine::{ContainerEngine, EngineError};
use crate::secrets::{Redactor, SecretSet};

pub use post::{TopicPlan, topic_plan};

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{service}: {message}")]
    Service { service: String, message: String },
    #[error("{0}")]
    Step(String),
}

/// What `up` did to one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Created,
    Recreated,
    Unchanged,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceReport {
    pub service: String,
    pub action: Action,
    pub health: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpReport {
    pub phase: u8,
    pub services: Vec<ServiceReport>,
    pub steps: Vec<String>,
    pub endpoints: BTreeMap<String, String>,
    pub seconds: f64,
    pub api_version: String,
}

/// Everything `up` needs, computed upstream.
pub struct UpInput<'a> {
    pub settings: &'a Settings,
    pub secrets: &'a SecretSet,
    pub stack: &'a Stack,
    pub rendered_dir: &'a Path,
    pub cas: &'a CaCertificates,
    pub redactor: &'a Redactor,
    pub verbose: bool,
}

/// Builds (or finds, or pulls) every image of the stack. Returns image IDs by service.
pub async fn ensure_images<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    cas: &CaCertificates,
    force_build: bool,
    only: &[String],
    verbose: bool,
    progress: &dyn Progress,
) -> Result<BTreeMap<String, String>, UpError> {
    let mut ids = BTreeMap::new();
    let order = build_order(stack);
    let mut base_checked = false;
    for service in order {
        if !only.is_empty() && !only.contains(&service.name) {
            continue;
        }
        if !force_build && let Some(id) = engine.image_id(&service.image).await {
            ids.insert(service.name.clone(), id);
            continue;
        }
        if service.build_context.is_none()
            && engine.try_pull(&service.image, progress).await
            && let Some(id) = engine.image_id(&service.image).await
        {
            ids.insert(service.name.clone(), id);
            continue;
        }
        let Some(context) = &service.build_context else {
            return Err(UpError::Service {
                service: service.name.clone(),
                message: format!(
                    "image {} is not present and could not be pulled, and the service has no recipe; pull it or set services.{}.build: true",
                    service.image, service.name
                ),
            });
        };
        if !base_checked {
            engine.ensure_base(progress).await?;
            base_checked = true;
        }
        progress.line(
            &service.name,
            &format!("building {} from {}", service.image, context.display()),
        );
        let started = Instant::now();
        let args: HashMap<String, String> = service.build_args.clone().into_iter().collect();
        let request = BuildRequest {
            service: &service.name,
            context,
            tag: &service.image,
            build_args: &args,
            cas,
            verbose,
        };
        let id = engine.build(&request, progress).await?;
        progress.line(
            &service.name,
            &format!(
                "built {} in {:.1} s",
                service.image,
                started.elapsed().as_secs_f64()
            ),
        );
        ids.insert(service.name.clone(), id);
    }
    Ok(ids)
}

/// Recipes whose Dockerfile builds FROM another service's image come after that service.
fn build_order(stack: &Stack) -> Vec<&Service> {
    let from_images = |s: &Service| -> Vec<String> {
        let Some(context) = &s.build_context else {
            return Vec::new();
        };
        let text = std::fs::read_to_string(context.join("Dockerfile")).unwrap_or_default();
        let mut args: BTreeMap<String, String> = BTreeMap::new();
        let mut froms = Vec::new();
        for line in text.lines().map(str::trim) {
            if let Some(arg) = line.strip_prefix("ARG ")
                && let Some((k, v)) = arg.split_once('=')
            {
                args.insert(k.trim().to_string(), v.trim().to_string());
            }
            if let Some(from) = line.strip_prefix("FROM ") {
                let mut image = from.split_whitespace().next().unwrap_or("").to_string();
                for (k, v) in args.iter().chain(s.build_args.iter()) {
                    image = image.replace(&format!("${{{k}}}"), v);
                }
                froms.push(image);
            }
        }
        froms
    };
    let mut ordered: Vec<&Service> = Vec::new();
    let mut pending: Vec<&Service> = stack.services.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|s| {
            let deps_done = from_images(s).iter().all(|img| {
                stack
                    .services
                    .iter()
                    .filter(|o| &o.image == img && o.name != s.name)
                    .all(|o| ordered.iter().any(|d| d.name == o.name))
            });
            if deps_done {
                ordered.push(s);
            }
            !deps_done
        });
        if pending.len() == before {
            ordered.append(&mut pending);
        }
    }
    ordered
}

/// The hash that decides whether a container must be recreated.
pub fn config_hash(service: &Service, image_id: &str) -> Result<String, EngineError> {
    let mut hasher = Sha256::new();
    hasher.update(format!("{service:?}").as_bytes());
    hasher.update(image_id.as_bytes());
    for file in &service.files {
        let data = std::fs::read(&file.source).map_err(|source| EngineError::Io {
            action: "read rendered file",
            path: file.source.clone(),
            source,
        })?;
        hasher.update(file.target.as_bytes());
        hasher.update(Sha256::digest(&data));
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Brings the stack to the desired state, wave by wave, then runs the post-start steps.
pub async fn up<E: ContainerEngine>(
    engine: &E,
    input: &UpInput<'_>,
    progress: &dyn Progress,
) -> Result<UpReport, UpError> {
    let started = Instant::now();
    let stack = input.stack;
    let images = ensure_images(
        engine,
        stack,
        input.cas,
        false,
        &[],
        input.verbose,
        progress,
    )
    .await?;
    for network in &stack.networks {
        engine.ensure_network(&stack.project, network).await?;
    }
    for volume in &stack.volumes {
        engine.ensure_volume(&stack.project, volume).await?;
    }
    let existing = engine.project_containers(&stack.project).await?;
    check_host_ports(stack, &existing)?;
    // Containers of services that the compose file no longer has.
    for c in existing
        .iter()
        .filter(|c| stack.service(&c.service).is_none())
    {
        progress.line(&c.service, "removing: no longer in the compose file");
        engine.remove(&c.id).await?;
    }
    // Decide every service first. What will be recreated is stopped in reverse dependency order
    // (clients before the broker they use), so no client hangs on a broker that went away; then
    // everything starts in dependency order.
    let mut plans: BTreeMap<String, Planned> = BTreeMap::new();
    for service in &stack.services {
        let image_id = images.get(&service.name).cloned().unwrap_or_default();
        let hash = config_hash(service, &image_id)?;
        let current = existing.iter().find(|c| c.service == service.name);
        plans.insert(
            service.name.clone(),
            Planned {
                action: decide(current, &hash),
                current_id: current.map(|c| c.id.clone()),
                was_running_same: current.is_some_and(|c| c.hash == hash),
                hash,
            },
        );
    }
    for wave in stack.start_waves().into_iter().rev() {
        let removals = wave.iter().filter_map(|service| {
            let plan = plans.get(&service.name)?;
            let id = plan
                .current_id
                .as_ref()
                .filter(|_| plan.action == Action::Recreated)?;
            progress.line(
                &service.name,
                if plan.was_running_same {
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
    let mut reports = Vec::new();
    let mut steps = Vec::new();
    for wave in stack.start_waves() {
        let futures = wave.iter().map(|service| {
            let plan = &plans[&service.name];
            bring_up(engine, stack, service, plan, input.redactor, progress)
        });
        let results = futures_util::future::join_all(futures).await;
        for result in results {
            reports.push(result?);
        }
        // Post-start steps of this wave, before dependents start.
        for service in &wave {
            let done = post::after_healthy(&service.name, input, progress).await?;
            steps.extend(done);
        }
    }
    let mut endpoints = BTreeMap::new();
    let s = input.settings;
    endpoints.insert(
        "kafka (SASL_PLAINTEXT)".into(),
        format!("localhost:{}", s.kafka.host_port),
    );
    endpoints.insert(
        "schema-registry".into(),
        format!(
            "http://localhost:{}/apis/ccompat/v7",
            s.schema_registry.host_port
        ),
    );
    endpoints.insert(
        "connect".into(),
        format!("http://localhost:{}", s.connect.host_port),
    );
    endpoints.insert(
        "clickhouse (HTTP)".into(),
        format!("http://localhost:{}", s.clickhouse.host_http_port),
    );
    let (major, minor) = engine.api_version();
    Ok(UpReport {
        phase: stack.phase,
        services: reports,
        steps,
        endpoints,
        seconds: started.elapsed().as_secs_f64(),
        api_version: format!("{major}.{minor}"),
    })
}

/// What `up` decided for one service before touching anything.
struct Planned {
    action: Action,
    hash: String,
    current_id: Option<String>,
    /// The current container has the right hash but is not running.
    was_running_same: bool,
}

/// Starts one service as planned (its old container is already gone) and waits for health.
async fn bring_up<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    service: &Service,
    plan: &Planned,
    redactor: &Redactor,
    progress: &dyn Progress,
) -> Result<ServiceReport, UpError> {
    let started = Instant::now();
    let action = plan.action;
    let id = match (action, &plan.current_id) {
        (Action::Unchanged, Some(id)) => id.clone(),
        _ => {
            let id = engine.create_service(stack, service, &plan.hash).await?;
            if let Err(e) = engine.start(&id).await {
                return Err(UpError::Service {
                    service: service.name.clone(),
                    message: health::explain_start_failure(&e.to_string(), service),
                });
            }
            progress.line(&service.name, "started");
            id
        }
    };
    let health = health::wait_healthy(engine, service, &id, redactor, progress).await?;
    Ok(ServiceReport {
        service: service.name.clone(),
        action,
        health,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Fails before anything starts when a host port a service publishes is taken by another
/// process (ports our own running containers hold are fine).
fn check_host_ports(stack: &Stack, existing: &[ProjectContainer]) -> Result<(), UpError> {
    for service in &stack.services {
        for port in &service.ports {
            let ours = existing.iter().any(|c| {
                c.state == "running"
                    && c.ports
                        .iter()
                        .any(|p| p.contains(&format!(":{}->", port.host_port)))
            });
            if ours {
                continue;
            }
            if std::net::TcpListener::bind((port.host_ip.as_str(), port.host_port)).is_err() {
                return Err(UpError::Service {
                    service: service.name.clone(),
                    message: health::explain_start_failure("address already in use", service),
                });
            }
        }
    }
    Ok(())
}

/// Keep a running container whose hash matches; recreate any other; create when there is none.
pub fn decide(current: Option<&ProjectContainer>, hash: &str) -> Action {
    match current {
        Some(c) if c.hash == hash && c.state == "running" => Action::Unchanged,
        Some(_) => Action::Recreated,
        None => Action::Created,
    }
}

/// What `down` removed.
#[derive(Debug, Clone, Serialize)]
pub struct DownReport {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

/// Removes the project's containers and networks (found by label); volumes too when asked.
/// Dependents stop before what they depend on (Connect before the broker it would wait for),
/// each group concurrently; containers of unknown services go first.
pub async fn down<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    volumes: bool,
) -> Result<DownReport, UpError> {
    let project = stack.project.as_str();
    let containers = engine.project_containers(project).await?;
    let mut groups: Vec<Vec<&ProjectContainer>> = vec![
        containers
            .iter()
            .filter(|c| stack.service(&c.service).is_none())
            .collect(),
    ];
    for wave in stack.start_waves().into_iter().rev() {
        groups.push(
            containers
                .iter()
                .filter(|c| wave.iter().any(|s| s.name == c.service))
                .collect(),
        );
    }
    for group in groups {
        let removals = group.iter().map(|c| engine.remove(&c.id));
        for result in futures_util::future::join_all(removals).await {
            result?;
        }
    }
    let networks = engine.remove_project_networks(project).await?;
    let volumes = if volumes {
        engine.remove_project_volumes(project).await?
    } else {
        Vec::new()
    };
    Ok(DownReport {
        containers: containers.into_iter().map(|c| c.name).collect(),
        networks,
        volumes,
    })
}

/// Where `up` records the phase it brought the stack to.
pub fn state_file(root: &Path) -> PathBuf {
    root.join(".stackctl/state.json")
}

/// Bound for waiting on one service: its start period plus all its retries.
pub fn health_bound(service: &Service) -> Duration {
    let ns = service
        .healthcheck
        .as_ref()
        .map(|h| h.start_period_ns + h.interval_ns.saturating_mul(h.retries))
        .unwrap_or(60_000_000_000);
    Duration::from_nanos(ns.clamp(10_000_000_000, 600_000_000_000) as u64)
}

/// Recreates one service's container as `service` describes it (which may differ from the
/// compose file) and waits until it is healthy. Used by tests that break the stack on purpose.
pub async fn recreate_service<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    service: &Service,
    redactor: &Redactor,
    progress: &dyn Progress,
) -> Result<(), UpError> {
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
    bring_up(engine, stack, service, &plan, redactor, progress).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(hash: &str, state: &str) -> ProjectContainer {
        ProjectContainer {
            id: "id".into(),
            name: "stackctl-kafka".into(),
            service: "kafka".into(),
            hash: hash.into(),
            phase: "4".into(),
            state: state.into(),
            health: Some("healthy".into()),
            ports: Vec::new(),
        }
    }

    #[test]
    fn keeps_only_running_containers_with_the_same_hash() {
        assert_eq!(decide(None, "h"), Action::Created);
        assert_eq!(
            decide(Some(&container("h", "running")), "h"),
            Action::Unchanged
        );
        assert_eq!(
            decide(Some(&container("old", "running")), "h"),
            Action::Recreated
        );
        assert_eq!(
            decide(Some(&container("h", "exited")), "h"),
            Action::Recreated
        );
    }

    #[test]
    fn builds_connect_after_the_kafka_image_it_starts_from() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let settings = Settings::load(root).expect("settings");
        let stack = crate::compose::load(root, &settings, 4).expect("compose");
        let order: Vec<&str> = build_order(&stack)
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        let kafka = order.iter().position(|s| *s == "kafka").expect("kafka");
        let connect = order.iter().position(|s| *s == "connect").expect("connect");
        assert!(kafka < connect, "{order:?}");
        assert_eq!(order.len(), 4);
    }

    use crate::engine::containers::Health;
    use std::sync::Mutex;

    /// A scripted engine: records what orchestration asks of it.
    #[derive(Default)]
    struct Fake {
        existing: Vec<ProjectContainer>,
        ops: Mutex<Vec<String>>,
        /// Health by service (default: healthy).
        health: BTreeMap<String, Health>,
        logs: String,
    }

    impl Fake {
        fn ops(&self) -> Vec<String> {
            self.ops.lock().map(|o| o.clone()).unwrap_or_default()
        }
        fn record(&self, op: String) {
            if let Ok(mut ops) = self.ops.lock() {
                ops.push(op);
            }
        }
        /// Container ids are `new-<service>` for created ones, `old-<service>` for existing ones.
        fn service_of(id: &str) -> &str {
            id.trim_start_matches("new-").trim_start_matches("old-")
        }
    }

    impl ContainerEngine for Fake {
        fn api_version(&self) -> (u32, u32) {
            (1, 41)
        }
        async fn image_id(&self, image: &str) -> Option<String> {
            Some(format!("sha-{image}"))
        }
        async fn try_pull(&self, _: &str, _: &dyn Progress) -> bool {
            false
        }
        async fn ensure_base(&self, _: &dyn Progress) -> Result<(), EngineError> {
            Ok(())
        }
        async fn build(
            &self,
            r: &BuildRequest<'_>,
            _: &dyn Progress,
        ) -> Result<String, EngineError> {
            self.record(format!("build {}", r.service));
            Ok(format!("sha-{}", r.tag))
        }
        async fn ensure_network(&self, _: &str, _: &str) -> Result<(), EngineError> {
            Ok(())
        }
        async fn ensure_volume(&self, _: &str, _: &str) -> Result<(), EngineError> {
            Ok(())
        }
        async fn project_containers(&self, _: &str) -> Result<Vec<ProjectContainer>, EngineError> {
            Ok(self.existing.clone())
        }
        async fn create_service(
            &self,
            _: &Stack,
            service: &Service,
            _: &str,
        ) -> Result<String, EngineError> {
            self.record(format!("create {}", service.name));
            Ok(format!("new-{}", service.name))
        }
        async fn start(&self, id: &str) -> Result<(), EngineError> {
            self.record(format!("start {}", Fake::service_of(id)));
            Ok(())
        }
        async fn health(&self, id: &str) -> Result<Health, EngineError> {
            Ok(self
                .health
                .get(Fake::service_of(id))
                .cloned()
                .unwrap_or(Health::Healthy))
        }
        async fn logs(&self, _: &str, _: Option<usize>) -> Result<String, EngineError> {
            Ok(self.logs.clone())
        }
        async fn remove(&self, id: &str) -> Result<(), EngineError> {
            self.record(format!("remove {}", Fake::service_of(id)));
            Ok(())
        }
        async fn remove_project_networks(&self, _: &str) -> Result<Vec<String>, EngineError> {
            Ok(vec!["t_n".into()])
        }
        async fn remove_project_volumes(&self, _: &str) -> Result<Vec<String>, EngineError> {
            Ok(Vec::new())
        }
    }

    struct Silent;
    impl Progress for Silent {
        fn line(&self, _: &str, _: &str) {}
    }

    /// A broker and a client that depends on it (names without post-start steps).
    fn two_services() -> (Settings, Stack) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let settings = Settings::load(root).expect("settings");
        let text = "name: t\nservices:\n  broker:\n    image: img/broker\n    networks: [n]\n  client:\n    image: img/client\n    depends_on:\n      broker: {condition: service_healthy}\n    networks: [n]\nnetworks:\n  n: {}\n";
        let stack = crate::compose::parse(text, &root.join("compose/test.yml"), &settings, 4)
            .expect("parse");
        (settings, stack)
    }

    fn run_up(fake: &Fake) -> Result<UpReport, UpError> {
        let (settings, stack) = two_services();
        let secrets = SecretSet::from_map(BTreeMap::new());
        let redactor = Redactor::default();
        let cas = CaCertificates::none();
        let dir = tempfile::tempdir().expect("tempdir");
        let input = UpInput {
            settings: &settings,
            secrets: &secrets,
            stack: &stack,
            rendered_dir: dir.path(),
            cas: &cas,
            redactor: &redactor,
            verbose: false,
        };
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(up(fake, &input, &Silent))
    }

    fn existing(service: &str, hash: &str) -> ProjectContainer {
        ProjectContainer {
            id: format!("old-{service}"),
            service: service.into(),
            ..container(hash, "running")
        }
    }

    fn hash_of(service: &str) -> String {
        let (_, stack) = two_services();
        let s = stack.service(service).expect("service");
        config_hash(s, &format!("sha-{}", s.image)).expect("hash")
    }

    #[test]
    fn a_fresh_up_starts_the_broker_before_its_client() {
        let fake = Fake::default();
        let report = run_up(&fake).expect("up");
        assert_eq!(
            fake.ops(),
            [
                "create broker",
                "start broker",
                "create client",
                "start client"
            ]
        );
        assert!(
            report
                .services
                .iter()
                .all(|s| s.action == Action::Created && s.health == "healthy")
        );
    }

    #[test]
    fn unchanged_services_are_left_alone() {
        let fake = Fake {
            existing: vec![
                existing("broker", &hash_of("broker")),
                existing("client", &hash_of("client")),
            ],
            ..Fake::default()
        };
        let report = run_up(&fake).expect("up");
        assert_eq!(fake.ops(), Vec::<String>::new());
        assert!(
            report
                .services
                .iter()
                .all(|s| s.action == Action::Unchanged)
        );
    }

    #[test]
    fn changed_services_stop_client_first_and_start_broker_first() {
        let fake = Fake {
            existing: vec![existing("broker", "stale"), existing("client", "stale")],
            ..Fake::default()
        };
        run_up(&fake).expect("up");
        assert_eq!(
            fake.ops(),
            [
                "remove client",
                "remove broker",
                "create broker",
                "start broker",
                "create client",
                "start client"
            ]
        );
    }

    #[test]
    fn a_service_that_exits_is_explained_and_its_dependents_never_start() {
        let fake = Fake {
            health: BTreeMap::from([("broker".to_string(), Health::Exited(1))]),
            logs: "ERROR SaslAuthenticationException: Authentication failed: Invalid username or password".into(),
            ..Fake::default()
        };
        let err = run_up(&fake).expect_err("must fail").to_string();
        assert!(
            err.starts_with("broker: exited with code 1. Likely cause: a Kafka login was refused"),
            "{err}"
        );
        assert!(err.contains("stackctl logs broker"), "{err}");
        assert_eq!(fake.ops(), ["create broker", "start broker"]);
    }

    #[test]
    fn down_removes_dependents_first() {
        let fake = Fake {
            existing: vec![existing("broker", "h"), existing("client", "h")],
            ..Fake::default()
        };
        let (_, stack) = two_services();
        let report = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(down(&fake, &stack, false))
            .expect("down");
        assert_eq!(fake.ops(), ["remove client", "remove broker"]);
        assert_eq!(report.networks, ["t_n"]);
    }

    #[test]
    fn config_hash_follows_file_contents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "a").expect("write");
        let service = Service {
            name: "s".into(),
            image: "i".into(),
            build_context: None,
            build_args: Default::default(),
            command: None,
            environment: Default::default(),
            files: vec![crate::compose::FileMount {
                name: "f".into(),
                source: file.clone(),
                target: "/f".into(),
                uid: 1,
                gid: 1,
                mode: 0o400,
            }],
            volumes: Vec::new(),
            ports: Vec::new(),
            healthcheck: None,
            depends_on: Vec::new(),
            limits: None,
            networks: Vec::new(),
        };
        let first = config_hash(&service, "img").expect("hash");
        assert_eq!(first, config_hash(&service, "img").expect("hash"));
        assert_ne!(first, config_hash(&service, "other-img").expect("hash"));
        std::fs::write(&file, "b").expect("write");
        assert_ne!(first, config_hash(&service, "img").expect("hash"));
    }
}
