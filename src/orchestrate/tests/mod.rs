//! Unit tests of orchestration against a scripted engine.

use std::path::Path;

use super::*;
use crate::engine::ContainerEngine;
use crate::engine::containers::FileCopy;
use crate::engine::images::BuildRequest;
use crate::progress::{Progress, Silent};
use crate::render::{FileId, TemplateSet};

fn container(hash: &str, state: &str) -> ProjectContainer {
    ProjectContainer {
        id: "id".into(),
        name: "stackctl-kafka".into(),
        service: "kafka".into(),
        hash: hash.into(),
        phase: Some(Phase::Hardening),
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
fn connect_is_built_from_the_kafka_image_named_by_its_identity() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let settings = Settings::load(root).expect("settings");
    let stack = crate::compose::load(root, &settings, Phase::MAX).expect("compose");
    let recipes = super::recipe::read_recipes(&stack).expect("recipes");
    let base = BTreeMap::from([(
        crate::engine::images::BASE_IMAGE.to_string(),
        "sha256:base".to_string(),
    )]);
    let ids = super::recipe::identities(&recipes, &base).expect("identities");
    assert_eq!(ids.len(), 4);
    let kafka = &ids["kafka"];
    let connect = &ids["connect"];
    assert_eq!(connect.depends_on, vec!["kafka".to_string()]);
    assert_eq!(connect.early_stage.as_deref(), Some("build"));
    assert_eq!(connect.build_args["KAFKA_IMAGE"], kafka.reference);
    assert!(kafka.reference.starts_with("stackctl/kafka:4.3.1-"));
    assert_eq!(kafka.reference.len(), "stackctl/kafka:4.3.1-".len() + 12);
    // Another base gives every image, connect's too, another identity; the same base the same.
    let other = BTreeMap::from([(
        crate::engine::images::BASE_IMAGE.to_string(),
        "sha256:other".to_string(),
    )]);
    let again = super::recipe::identities(&recipes, &other).expect("identities");
    assert_ne!(again["kafka"].digest, kafka.digest);
    assert_ne!(again["connect"].digest, connect.digest);
    let same = super::recipe::identities(&recipes, &base).expect("identities");
    assert_eq!(same, ids);
    // Without the base, nothing has an identity yet.
    assert!(
        super::recipe::identities(&recipes, &BTreeMap::new())
            .expect("identities")
            .is_empty()
    );
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
    /// Images the engine does not have.
    missing: Vec<String>,
    /// Services whose own health command passes while the engine still says "starting".
    probe_passes: Vec<String>,
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
        (!self.missing.iter().any(|m| m == image)).then(|| format!("sha-{image}"))
    }
    async fn try_pull(&self, _: &str, _: &dyn Progress) -> bool {
        false
    }
    async fn ensure_base(&self, _: &dyn Progress) -> Result<(), EngineError> {
        Ok(())
    }
    async fn build(&self, r: &BuildRequest<'_>, _: &dyn Progress) -> Result<String, EngineError> {
        self.record(format!("build {}", r.service));
        Ok(format!("sha-{}", r.tag.unwrap_or("stage")))
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
        _: &[FileCopy<'_>],
    ) -> Result<String, EngineError> {
        self.record(format!("create {}", service.name));
        Ok(format!("new-{}", service.name))
    }
    async fn start(&self, id: &str) -> Result<(), EngineError> {
        self.record(format!("start {}", Fake::service_of(id)));
        Ok(())
    }
    async fn stop(&self, id: &str) -> Result<(), EngineError> {
        self.record(format!("stop {}", Fake::service_of(id)));
        Ok(())
    }
    async fn remove_image(&self, image: &str) -> Result<bool, EngineError> {
        self.record(format!("rmi {image}"));
        Ok(true)
    }
    async fn health(&self, id: &str) -> Result<Health, EngineError> {
        Ok(self
            .health
            .get(Fake::service_of(id))
            .cloned()
            .unwrap_or(Health::Healthy))
    }
    async fn probe_health(
        &self,
        id: &str,
    ) -> Result<crate::engine::health_probe::HealthProbe, EngineError> {
        use crate::engine::health_probe::HealthProbe;
        let service = Fake::service_of(id);
        self.record(format!("probe {service}"));
        Ok(if self.probe_passes.iter().any(|s| s == service) {
            HealthProbe::Passed
        } else {
            HealthProbe::NotYet("exit code 1".into())
        })
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

/// A broker and a client that depends on it (names without post-start steps).
fn two_services() -> (Settings, Stack) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let settings = Settings::load(root).expect("settings");
    let text = "name: t\nservices:\n  broker:\n    image: img/broker\n    networks: [n]\n  client:\n    image: img/client\n    depends_on:\n      broker: {condition: service_healthy}\n    networks: [n]\nnetworks:\n  n: {}\n";
    let stack = crate::compose::parse(text, &root.join("compose/test.yml"), &settings, Phase::MAX)
        .expect("parse");
    (settings, stack)
}

fn run_up(fake: &Fake) -> Result<UpReport, UpError> {
    run_up_with(fake, &UpOptions::default())
}

fn run_up_with(fake: &Fake, options: &UpOptions) -> Result<UpReport, UpError> {
    let (settings, stack) = two_services();
    let secrets = SecretSet::from_map(BTreeMap::new());
    let redactor = Redactor::default();
    let cas = CaCertificates::none();
    let plan = empty_plan();
    let endpoints = Endpoints::new(&settings, &secrets).expect("endpoints");
    let input = UpInput {
        settings: &settings,
        secrets: &secrets,
        stack: &stack,
        plan: &plan,
        endpoints: &endpoints,
        cas: &cas,
        redactor: &redactor,
        verbose: false,
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(up(fake, &input, options, &Silent))
}

fn existing(service: &str, hash: &str) -> ProjectContainer {
    ProjectContainer {
        id: format!("old-{service}"),
        service: service.into(),
        ..container(hash, "running")
    }
}

fn empty_plan() -> RenderPlan {
    RenderPlan {
        phase: Phase::MAX,
        files: Vec::new(),
        templates: TemplateSet::embedded().origin,
    }
}

fn hash_of(service: &str) -> String {
    let (_, stack) = two_services();
    let s = stack.service(service).expect("service");
    config_hash(s, &format!("sha-{}", s.image), &[])
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
fn a_service_whose_own_health_command_passes_is_not_left_waiting_for_the_engines_first_check() {
    let fake = Fake {
        health: BTreeMap::from([("broker".to_string(), Health::Starting)]),
        probe_passes: vec!["broker".into()],
        ..Fake::default()
    };
    let report = run_up(&fake).expect("up");
    assert_eq!(
        fake.ops(),
        [
            "create broker",
            "start broker",
            "probe broker",
            "create client",
            "start client"
        ]
    );
    assert!(report.services.iter().all(|s| s.health == "healthy"));
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
        logs:
            "ERROR SaslAuthenticationException: Authentication failed: Invalid username or password"
                .into(),
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
        .block_on(down(&fake, &stack, DownOptions::default()))
        .expect("down");
    assert_eq!(fake.ops(), ["remove client", "remove broker"]);
    assert_eq!(report.networks, ["t_n"]);
}

#[test]
fn config_hash_follows_file_contents() {
    let mount = crate::compose::FileMount {
        name: "f".into(),
        file: FileId::KafkaServer,
        target: "/f".into(),
        uid: 1,
        gid: 1,
        mode: 0o400,
    };
    let service = Service {
        name: "s".into(),
        node: None,
        image: "i".into(),
        build_context: None,
        build_args: BTreeMap::default(),
        command: None,
        environment: BTreeMap::default(),
        files: vec![mount.clone()],
        volumes: Vec::new(),
        ports: Vec::new(),
        healthcheck: None,
        depends_on: Vec::new(),
        limits: None,
        restart: None,
        logging: None,
        networks: Vec::new(),
    };
    let copy = |contents: &'static str| {
        [FileCopy {
            mount: &service.files[0],
            contents: contents.as_bytes(),
        }]
    };
    let first = config_hash(&service, "img", &copy("a"));
    assert_eq!(first, config_hash(&service, "img", &copy("a")));
    assert_ne!(first, config_hash(&service, "other-img", &copy("a")));
    assert_ne!(first, config_hash(&service, "img", &copy("b")));
}

#[test]
fn up_of_one_service_brings_what_it_depends_on_and_nothing_else() {
    let fake = Fake::default();
    let only_client = UpOptions {
        services: vec!["client".into()],
        ..UpOptions::default()
    };
    run_up_with(&fake, &only_client).expect("up client");
    assert_eq!(
        fake.ops(),
        [
            "create broker",
            "start broker",
            "create client",
            "start client"
        ]
    );
    let fake = Fake::default();
    let only_broker = UpOptions {
        services: vec!["broker".into()],
        ..UpOptions::default()
    };
    let report = run_up_with(&fake, &only_broker).expect("up broker");
    assert_eq!(fake.ops(), ["create broker", "start broker"]);
    assert_eq!(report.services.len(), 1);
    let unknown = UpOptions {
        services: vec!["nope".into()],
        ..UpOptions::default()
    };
    let err = run_up_with(&Fake::default(), &unknown).expect_err("unknown service");
    assert!(err.to_string().contains("unknown service `nope`"), "{err}");
}

#[test]
fn force_recreate_replaces_unchanged_containers() {
    let fake = Fake {
        existing: vec![
            existing("broker", &hash_of("broker")),
            existing("client", &hash_of("client")),
        ],
        ..Fake::default()
    };
    let options = UpOptions {
        force_recreate: true,
        ..UpOptions::default()
    };
    let report = run_up_with(&fake, &options).expect("up");
    assert!(
        report
            .services
            .iter()
            .all(|s| s.action == Action::Recreated)
    );
    assert_eq!(fake.ops()[..2], ["remove client", "remove broker"]);
}

#[test]
fn no_build_names_the_missing_image_instead_of_building() {
    let fake = Fake {
        missing: vec!["img/client".into()],
        ..Fake::default()
    };
    let options = UpOptions {
        build: BuildPolicy::Never,
        ..UpOptions::default()
    };
    let err = run_up_with(&fake, &options)
        .expect_err("missing image")
        .to_string();
    // No recipe here: nothing could build it anyway; the message names the image and the fix.
    assert!(
        err.contains("img/client") && err.contains("could not be pulled"),
        "{err}"
    );
    assert!(fake.ops().iter().all(|op| !op.starts_with("build")));
}

mod lifecycle;
