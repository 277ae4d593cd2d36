//! `render --target kubernetes`: phases 2–5 × 1 and 3 Kafka nodes, each manifest checked by the
//! layer that should catch its faults — stackctl's cross-checks (always), the operators' CRD
//! schemas with unknown fields rejected, and a strict server-side dry-run on a real API server.
//! The last two need Strimzi's regenerated CRDs, etcd and apiextensions-apiserver:
//! `eval "$(scripts/k8s/setup.sh)"` provides them; `scripts/test.sh` runs these `--ignored` tests.

mod apiserver;
mod builtin;
mod cli;
mod rerender;
mod schema;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use stackctl::kubernetes::{self, CrossCheckError, KubeError, KubePlan, Options};
use stackctl::render::TemplateSet;
use stackctl::settings::{Phase, Settings};

use crate::{fixed_secrets, repo_root};

const ALTINITY_CRD: &str =
    "tests/fixtures/k8s/altinity/clickhouseinstallations.clickhouse.altinity.com.yaml";

fn settings(brokers: u16) -> Settings {
    let text = std::fs::read_to_string(repo_root().join("configs/stack.yaml")).expect("settings");
    let text = text
        .replace("brokers: 1", &format!("brokers: {brokers}"))
        .replace(
            "replication_factor: 1",
            &format!("replication_factor: {brokers}"),
        );
    Settings::parse(&text, Path::new("stack.yaml")).expect("valid settings")
}

fn options(phase: u8) -> Options {
    let phase = Phase::from_number(phase).expect("phase");
    let s = settings(1);
    Options {
        phase,
        namespace: "stackctl".into(),
        schema_sql: stackctl::render::schema_sql(&s, phase, &TemplateSet::embedded())
            .expect("schema"),
    }
}

/// Every (phase, brokers) the target supports, rendered with fixture secrets.
fn every_plan() -> Vec<(String, Settings, KubePlan)> {
    let mut out = Vec::new();
    for phase in 2..=5 {
        for brokers in [1, 3] {
            let s = settings(brokers);
            let plan = kubernetes::plan(&s, &options(phase), Some(&fixed_secrets(&s)))
                .unwrap_or_else(|e| panic!("phase {phase}, {brokers} node(s): {e}"));
            out.push((format!("phase {phase}, {brokers} node(s)"), s, plan));
        }
    }
    out
}

fn find<'a>(plan: &'a mut KubePlan, kind: &str, name: &str) -> &'a mut Value {
    &mut plan
        .manifests
        .iter_mut()
        .find(|m| m.kind() == kind && m.name() == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
        .doc
}

#[test]
fn kubernetes_every_phase_renders_what_the_settings_declare() {
    for (label, s, plan) in every_plan() {
        let pool = plan
            .manifests
            .iter()
            .find(|m| m.kind() == "KafkaNodePool")
            .expect("pool");
        assert_eq!(
            pool.doc["spec"]["replicas"],
            json!(s.kafka.brokers),
            "{label}"
        );
        let users: Vec<&str> = plan
            .manifests
            .iter()
            .filter(|m| m.kind() == "KafkaUser")
            .map(stackctl::kubernetes::Manifest::name)
            .collect();
        assert_eq!(
            users,
            ["admin", "schema-registry", "connect", "app"],
            "{label}"
        );
        let kafka = plan
            .manifests
            .iter()
            .find(|m| m.kind() == "Kafka")
            .expect("Kafka");
        let authz = &kafka.doc["spec"]["kafka"]["authorization"];
        assert_eq!(
            plan.phase.enforces_authorization(),
            !authz.is_null(),
            "{label}"
        );
        let limits = &pool.doc["spec"]["resources"]["limits"];
        assert_eq!(plan.phase.limits_resources(), !limits.is_null(), "{label}");
        assert!(
            kubernetes::leaks(&plan, &s, &fixed_secrets(&s)).is_empty(),
            "{label}"
        );
        let secrets = plan.manifests.iter().filter(|m| m.is_secret()).count();
        assert_eq!(secrets, plan.secrets.len(), "{label}");
    }
    // Exactly the declared ACLs, under the mapped name.
    let s = settings(1);
    let plan = kubernetes::plan(&s, &options(5), None).expect("plan");
    let app = plan
        .manifests
        .iter()
        .find(|m| m.kind() == "KafkaUser" && m.name() == "app")
        .expect("app");
    assert_eq!(
        app.doc["spec"]["authorization"]["acls"],
        json!([
            { "type": "allow", "host": "*", "operations": ["Read", "Write"],
              "resource": { "type": "topic", "name": "events", "patternType": "literal" } },
            { "type": "allow", "host": "*", "operations": ["Read"],
              "resource": { "type": "group", "name": "app-", "patternType": "prefix" } },
        ])
    );
    assert_eq!(
        plan.renamed_users,
        [("schema_registry".to_string(), "schema-registry".to_string())]
    );
    assert!(
        !plan
            .manifests
            .iter()
            .any(stackctl::kubernetes::Manifest::is_secret),
        "no Secret without --with-secrets"
    );
}

#[test]
fn kubernetes_refuses_phase_1_and_names_it_cannot_map() {
    let s = settings(1);
    let err = kubernetes::plan(&s, &options(1), None).unwrap_err();
    assert!(
        matches!(err, KubeError::PhaseTooLow(Phase::KafkaAuth)),
        "{err}"
    );
    assert!(
        err.to_string().contains("pass --phase 2 or higher"),
        "{err}"
    );

    let text = std::fs::read_to_string(repo_root().join("configs/stack.yaml")).expect("settings");
    // Settings allow a-z, 0-9 and `_`; `_` maps to `-`, so only a trailing `_` is left to refuse.
    let trailing = Settings::parse(
        &text.replace("app: app", "app: app_"),
        Path::new("stack.yaml"),
    )
    .expect("valid");
    let err = kubernetes::plan(&trailing, &options(5), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "kafka.principals.app = `app_` cannot name a Kubernetes object: must start and end with a lowercase letter or digit"
    );
}

/// A copy of `plan`'s app KafkaUser (ACLs included) named for an undeclared principal.
fn mallory(plan: &KubePlan) -> kubernetes::Manifest {
    let mut mallory = plan
        .manifests
        .iter()
        .find(|m| m.name() == "app")
        .expect("app")
        .clone();
    mallory.doc["metadata"]["name"] = json!("mallory");
    mallory.path = PathBuf::from("kafka/users/mallory.yaml");
    mallory
}

/// `plan` with [`mallory`] added.
fn with_mallory(plan: &KubePlan) -> KubePlan {
    let mut plan = plan.clone();
    plan.manifests.push(mallory(&plan));
    plan
}

/// Each break is refused by the cross-checks with exactly its error.
#[test]
fn kubernetes_cross_checks_refuse_each_break() {
    let s = settings(1);
    let secrets = fixed_secrets(&s);
    let good = kubernetes::plan(&s, &options(5), Some(&secrets)).expect("plan");
    let check = |plan: &KubePlan| kubernetes::cross_check(plan, &s);

    // An ACL for an undeclared principal.
    assert_eq!(
        check(&with_mallory(&good)),
        [CrossCheckError::UnknownPrincipal {
            file: "kafka/users/mallory.yaml".into(),
            what: "a KafkaUser with ACLs".into(),
            user: "mallory".into(),
        }]
    );

    // A grant nobody declared.
    let mut plan = good.clone();
    let acls = &mut find(&mut plan, "KafkaUser", "app")["spec"]["authorization"]["acls"];
    acls[0]["operations"] = json!(["Read", "Write", "Delete"]);
    let errors = check(&plan);
    assert!(
        matches!(errors.as_slice(), [CrossCheckError::AclDrift { user, .. }] if user == "app"),
        "{errors:?}"
    );

    // The connector's password no longer resolves to a mounted Secret key.
    let mut plan = good.clone();
    find(&mut plan, "KafkaConnector", "clickhouse-sink")["spec"]["config"]["clickhouse.password"] =
        json!("${directory:/etc/elsewhere:password}");
    let errors = check(&plan);
    assert!(
        matches!(errors.as_slice(), [CrossCheckError::UnresolvedReference { path, .. }] if path == "/etc/elsewhere"),
        "{errors:?}"
    );

    // A Secret key nobody renders or names.
    let mut plan = good.clone();
    find(&mut plan, "KafkaUser", "app")["spec"]["authentication"]["password"]["valueFrom"]["secretKeyRef"]
        ["key"] = json!("pw");
    let errors = check(&plan);
    assert!(
        matches!(errors.as_slice(), [CrossCheckError::UnknownSecretKey { key, .. }] if key == "pw"),
        "{errors:?}"
    );

    // A rendered Secret without a key the manifests read.
    let mut plan = good.clone();
    let writer_secret = find(&mut plan, "Secret", "stackctl-connect-clickhouse-writer");
    writer_secret["stringData"]
        .as_object_mut()
        .expect("data")
        .remove("password");
    let errors = check(&plan);
    assert!(
        matches!(errors.as_slice(), [CrossCheckError::MissingSecretKey { key, .. }] if key == "password"),
        "{errors:?}"
    );

    // A config option Strimzi manages itself (it would ignore it).
    let mut plan = good.clone();
    find(&mut plan, "KafkaConnect", "stackctl")["spec"]["config"]["sasl.jaas.config"] = json!("x");
    let errors = check(&plan);
    assert!(
        matches!(errors.as_slice(), [CrossCheckError::ForbiddenConfig { prefix, .. }] if prefix == "sasl."),
        "{errors:?}"
    );

    // A topic without its KafkaTopic.
    let mut plan = good.clone();
    plan.manifests
        .retain(|m| !(m.kind() == "KafkaTopic" && m.name() == "events-dlq"));
    assert!(matches!(
        check(&plan).as_slice(),
        [CrossCheckError::TopicDrift { .. }]
    ));

    // A secret value outside a Secret.
    let mut plan = good.clone();
    let writer = s.principal("clickhouse-writer").expect("writer");
    let value = secrets.get(&writer).expect("secret").expose().to_string();
    find(&mut plan, "KafkaConnector", "clickhouse-sink")["spec"]["config"]["clickhouse.password"] =
        json!(value);
    let leaks = kubernetes::leaks(&plan, &s, &secrets);
    assert!(
        matches!(leaks.as_slice(), [CrossCheckError::SecretLeak { principal, .. }] if principal == "clickhouse-writer"),
        "{leaks:?}"
    );
    assert!(
        !leaks[0].to_string().contains(&value),
        "the message never holds the value"
    );
}

#[test]
fn kubernetes_clickhouse_installation_matches_altinity_schema() {
    let mut schemas = schema::Schemas::new();
    schemas.load(&repo_root().join(ALTINITY_CRD));
    for (label, _, plan) in every_plan() {
        let chi = plan
            .manifests
            .iter()
            .find(|m| m.kind() == "ClickHouseInstallation")
            .expect("CHI");
        let errors = schemas.validate(&chi.doc).expect("CHI schema");
        assert!(errors.is_empty(), "{label}: {errors:?}");
    }
}

fn all_schemas() -> schema::Schemas {
    let dir = std::env::var("STACKCTL_K8S_CRDS").unwrap_or_else(|_| {
        panic!("STACKCTL_K8S_CRDS is not set: run `eval \"$(scripts/k8s/setup.sh)\"` first (scripts/test.sh does)")
    });
    let mut schemas = schema::Schemas::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "six Strimzi CRDs in {dir}");
    files.push(repo_root().join(ALTINITY_CRD));
    for f in &files {
        schemas.load(f);
    }
    builtin::load(&mut schemas);
    schemas
}

/// The manifest of `kind` a break touches (the KafkaUser of `app`).
fn pick<'a>(plan: &'a KubePlan, kind: &str) -> &'a kubernetes::Manifest {
    plan.manifests
        .iter()
        .find(|m| m.kind() == kind && (kind != "KafkaUser" || m.name() == "app"))
        .unwrap_or_else(|| panic!("no {kind}"))
}

/// The three breaks, applied to the phase-5 plan: an unknown field, `type: plain`, and a CEL
/// rule the schema layer cannot evaluate.
fn breaks(good: &KubePlan) -> [(&'static str, KubePlan); 3] {
    let mut unknown = good.clone();
    find(&mut unknown, "Kafka", "stackctl")["spec"]["kafka"]["listeners"][0]["authentication"]["mechanism"] =
        json!("PLAIN");
    let mut plain = good.clone();
    find(&mut plain, "KafkaUser", "app")["spec"]["authentication"]["type"] = json!("plain");
    let mut cel = good.clone();
    find(&mut cel, "Kafka", "stackctl")["spec"]["kafka"]["metricsConfig"] =
        json!({ "type": "jmxPrometheusExporter" });
    [
        ("unknown field", unknown),
        ("type: plain", plain),
        ("CEL rule", cel),
    ]
}

#[test]
#[ignore = "needs Strimzi's CRDs: scripts/k8s/setup.sh (scripts/test.sh runs it)"]
fn kubernetes_manifests_match_operator_schemas() {
    let schemas = all_schemas();
    for (label, _, plan) in every_plan() {
        let mut custom = 0;
        for m in &plan.manifests {
            let errors = schemas.validate(&m.doc).unwrap_or_else(|| {
                panic!(
                    "{label}: {}: no schema serves {} {}",
                    m.path.display(),
                    m.doc["apiVersion"],
                    m.kind()
                )
            });
            assert!(
                errors.is_empty(),
                "{label}: {}: {errors:?}",
                m.path.display()
            );
            if schemas
                .plural(m.doc["apiVersion"].as_str().unwrap_or(""), m.kind())
                .is_some()
            {
                custom += 1;
            }
        }
        println!(
            "schema  {label}: all {} manifests valid ({custom} custom resources, {} built-in)",
            plan.manifests.len(),
            plan.manifests.len() - custom
        );
    }
    let good = kubernetes::plan(&settings(1), &options(5), None).expect("plan");
    let [unknown, plain, cel] = breaks(&good);
    let errors =
        |plan: &KubePlan, kind: &str| schemas.validate(&pick(plan, kind).doc).expect("schema");
    assert_eq!(
        errors(&unknown.1, "Kafka"),
        ["unknown field \"spec.kafka.listeners[0].authentication.mechanism\""]
    );
    assert_eq!(
        errors(&plain.1, "KafkaUser"),
        [
            "spec.authentication.type: Unsupported value: \"plain\": supported values: [\"tls\",\"tls-external\",\"scram-sha-512\"]"
        ]
    );
    let mut meta = good.clone();
    find(&mut meta, "KafkaUser", "app")["metadata"]["label"] = json!({});
    assert_eq!(
        errors(&meta, "KafkaUser"),
        ["unknown field \"metadata.label\""]
    );
    // CEL is the API server's job: the schema layer passes it, the dry-run refuses it.
    assert_eq!(errors(&cel.1, "Kafka"), Vec::<String>::new());
    println!("schema  refused: unknown field, type: plain; (CEL rule left to the API server)");
}

#[test]
#[ignore = "needs etcd and apiextensions-apiserver: scripts/k8s/setup.sh (scripts/test.sh runs it)"]
fn kubernetes_manifests_pass_strict_dry_run() {
    let schemas = all_schemas();
    let env = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| {
            panic!("{k} is not set: run `eval \"$(scripts/k8s/setup.sh)\"` first")
        })
    };
    let server =
        apiserver::ApiServer::start(&env("STACKCTL_K8S_ETCD"), &env("STACKCTL_K8S_APISERVER"));
    server.install_crds(&schemas.crds);
    let dry_run = |m: &kubernetes::Manifest| {
        let api = m.doc["apiVersion"].as_str().unwrap_or("");
        schemas
            .plural(api, m.kind())
            .map(|plural| server.dry_run(plural, &m.doc))
    };
    for (label, _, plan) in every_plan() {
        let mut accepted = 0;
        for m in &plan.manifests {
            if let Some((status, body)) = dry_run(m) {
                assert_eq!(status, 201, "{label}: {}: {body}", m.path.display());
                accepted += 1;
            }
        }
        println!("dry-run {label}: {accepted} custom resources accepted (201)");
    }
    let s = settings(1);
    let good = kubernetes::plan(&s, &options(5), None).expect("plan");
    let expect = [
        (
            "unknown field",
            "Kafka",
            400,
            "unknown field \"spec.kafka.listeners[0].authentication.mechanism\"",
        ),
        (
            "type: plain",
            "KafkaUser",
            422,
            "spec.authentication.type: Unsupported value: \"plain\"",
        ),
        ("CEL rule", "Kafka", 422, "valueFrom property is required"),
    ];
    for ((label, plan), (want_label, kind, want, text)) in breaks(&good).into_iter().zip(expect) {
        assert_eq!(label, want_label);
        let (status, body) = dry_run(pick(&plan, kind)).expect("a custom resource");
        let message = body["message"].as_str().unwrap_or("");
        assert_eq!(status, want, "{label}: {body}");
        assert!(message.contains(text), "{label}: {message}");
        println!("dry-run refused {label}: {status} {message}");
    }
    // An ACL for an undeclared principal is schema-valid: the API server accepts it and only
    // stackctl's cross-check refuses it.
    let (status, body) = dry_run(&mallory(&good)).expect("KafkaUser");
    assert_eq!(status, 201, "{body}");
    let errors = kubernetes::cross_check(&with_mallory(&good), &s);
    assert_eq!(errors.len(), 1, "{errors:?}");
    println!(
        "dry-run accepts a KafkaUser for undeclared `mallory` (201); cross-check refuses: {}",
        errors[0]
    );
}
