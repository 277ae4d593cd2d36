//! The built-in kinds (Deployment, Service, Job, ConfigMap, Secret, NetworkPolicy) against
//! Kubernetes' own OpenAPI v3 schemas (`api/openapi-spec/v3/` of `k8s.io/kubernetes`, fetched by
//! `scripts/k8s/setup.sh` into STACKCTL_K8S_OPENAPI), unknown fields rejected; and the
//! selector cross-checks that neither a schema nor kube-apiserver makes.

use std::path::PathBuf;

use serde_json::{Value, json};
use stackctl::kubernetes::{self, KubePlan};

use super::{all_schemas, find, options, settings};
use crate::fixed_secrets;

/// The documents of the groups stackctl renders into.
const OPENAPI_FILES: [&str; 5] = [
    "api__v1_openapi.json",
    "apis__apps__v1_openapi.json",
    "apis__batch__v1_openapi.json",
    "apis__networking.k8s.io__v1_openapi.json",
    "apis__rbac.authorization.k8s.io__v1_openapi.json",
];

/// Adds Kubernetes' schemas of the built-in kinds to `schemas`.
pub fn load(schemas: &mut super::schema::Schemas) {
    let dir = std::env::var("STACKCTL_K8S_OPENAPI").unwrap_or_else(|_| {
        panic!("STACKCTL_K8S_OPENAPI is not set: run `eval \"$(scripts/k8s/setup.sh)\"` first (scripts/test.sh does)")
    });
    for f in OPENAPI_FILES {
        schemas.load_openapi(&PathBuf::from(&dir).join(f));
    }
}

/// A change to a plan that the schemas must refuse.
type Break = Box<dyn Fn(&mut KubePlan)>;

fn errors(schemas: &super::schema::Schemas, plan: &KubePlan, kind: &str) -> Vec<String> {
    let m = plan
        .manifests
        .iter()
        .find(|m| m.kind() == kind)
        .unwrap_or_else(|| panic!("no {kind}"));
    schemas
        .validate(&m.doc)
        .unwrap_or_else(|| panic!("no schema for {kind}"))
}

/// Each break of a built-in object: (label, kind, the break, the API server's messages).
#[allow(
    clippy::too_many_lines,
    reason = "a data table, one entry per break; split up it would no longer read as one list"
)]
fn breaks() -> Vec<(&'static str, &'static str, Break, Vec<&'static str>)> {
    vec![
        (
            "unknown field in the Deployment's container",
            "Deployment",
            Box::new(|p| {
                find(p, "Deployment", "stackctl-schema-registry")["spec"]["template"]["spec"]["containers"]
                    [0]["imagePullSecret"] = json!("regcred");
            }),
            vec!["unknown field \"spec.template.spec.containers[0].imagePullSecret\""],
        ),
        (
            "wrong type: a port as a string",
            "Deployment",
            Box::new(|p| {
                find(p, "Deployment", "stackctl-schema-registry")["spec"]["template"]["spec"]["containers"]
                    [0]["ports"][0]["containerPort"] = json!("8080");
            }),
            vec![
                "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: \"8080\": must be of type \"integer\"",
            ],
        ),
        (
            "unknown field in metadata",
            "Deployment",
            Box::new(|p| {
                find(p, "Deployment", "stackctl-schema-registry")["metadata"]["label"] = json!({});
            }),
            vec!["unknown field \"metadata.label\""],
        ),
        (
            "a bad quantity",
            "Deployment",
            Box::new(|p| {
                find(p, "Deployment", "stackctl-schema-registry")["spec"]["template"]["spec"]["containers"]
                    [0]["resources"]["limits"]["memory"] = json!("512MB");
            }),
            vec![
                "spec.template.spec.containers[0].resources.limits.memory: Invalid value: \"512MB\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ],
        ),
        (
            "a Service port without its number",
            "Service",
            Box::new(|p| {
                find(p, "Service", "stackctl-schema-registry")["spec"]["ports"][0]
                    .as_object_mut()
                    .expect("port")
                    .remove("port");
            }),
            vec!["spec.ports[0].port: Required value"],
        ),
        (
            "a misspelt NetworkPolicy field",
            "NetworkPolicy",
            Box::new(|p| {
                let np = p
                    .manifests
                    .iter_mut()
                    .find(|m| m.kind() == "NetworkPolicy")
                    .expect("NetworkPolicy");
                let spec = np.doc["spec"].as_object_mut().expect("spec");
                let ingress = spec.remove("ingress").expect("ingress");
                spec.insert("ingres".into(), ingress);
            }),
            vec!["unknown field \"spec.ingres\""],
        ),
        (
            "a Job's backoffLimit as a string",
            "Job",
            Box::new(|p| {
                let job = p
                    .manifests
                    .iter_mut()
                    .find(|m| m.kind() == "Job")
                    .expect("Job");
                job.doc["spec"]["backoffLimit"] = json!("6");
            }),
            vec!["spec.backoffLimit: Invalid value: \"6\": must be of type \"integer\""],
        ),
    ]
}

/// Each break of a built-in object is refused with exactly its message; the unbroken plan
/// passes, so the refusals come from the breaks.
#[test]
#[ignore = "needs Kubernetes' OpenAPI schemas: scripts/k8s/setup.sh (scripts/test.sh runs it)"]
fn kubernetes_built_in_kinds_refuse_breaks() {
    let schemas = all_schemas();
    let s = settings(1);
    let good = kubernetes::plan(&s, &options(5), Some(&fixed_secrets(&s))).expect("plan");
    for kind in [
        "Deployment",
        "Service",
        "Job",
        "ConfigMap",
        "Secret",
        "NetworkPolicy",
    ] {
        assert_eq!(
            errors(&schemas, &good, kind),
            Vec::<String>::new(),
            "{kind}"
        );
    }
    for (label, kind, break_it, want) in breaks() {
        let mut plan = good.clone();
        break_it(&mut plan);
        assert_eq!(errors(&schemas, &plan, kind), want, "{label}");
        println!("schema  refused {label}: {}", want.join("; "));
    }
    // A kind no loaded schema serves is not silently passed.
    let mut plan = good.clone();
    find(&mut plan, "Deployment", "stackctl-schema-registry")["apiVersion"] = json!("apps/v1beta1");
    let m = plan
        .manifests
        .iter()
        .find(|m| m.kind() == "Deployment")
        .expect("Deployment");
    assert!(schemas.validate(&m.doc).is_none());
}

/// Every object of every object path in the built-in manifests.
fn object_paths(
    value: &Value,
    path: &str,
    out: &mut Vec<(String, Vec<PathStep>)>,
    steps: &[PathStep],
) {
    match value {
        Value::Object(map) => {
            out.push((path.to_string(), steps.to_vec()));
            for (k, v) in map {
                let at = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let mut next = steps.to_vec();
                next.push(PathStep::Key(k.clone()));
                object_paths(v, &at, out, &next);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let mut next = steps.to_vec();
                next.push(PathStep::Index(i));
                object_paths(v, &format!("{path}[{i}]"), out, &next);
            }
        }
        _ => {}
    }
}

#[derive(Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at<'a>(value: &'a mut Value, steps: &[PathStep]) -> &'a mut Value {
    steps.iter().fold(value, |v, s| match s {
        PathStep::Key(k) => &mut v[k.as_str()],
        PathStep::Index(i) => &mut v[*i],
    })
}

/// Proof that no part of a built-in manifest escapes the unknown-field rule: a string field
/// `stackctlBogus` added to each object in turn is refused, exactly there, unless that object is
/// a map of strings (labels, ConfigMap data, …), which Kubernetes' schema declares as such.
#[test]
#[ignore = "needs Kubernetes' OpenAPI schemas: scripts/k8s/setup.sh (scripts/test.sh runs it)"]
fn kubernetes_built_in_kinds_refuse_an_unknown_field_anywhere() {
    let schemas = all_schemas();
    let s = settings(3);
    let good = kubernetes::plan(&s, &options(5), Some(&fixed_secrets(&s))).expect("plan");
    let (mut refused, mut maps) = (0, std::collections::BTreeSet::new());
    // Normalises list indexes so the accepted maps read as field names.
    let index = regex::Regex::new(r"\[[0-9]+\]").expect("index pattern");
    for m in good.manifests.iter().filter(|m| {
        schemas
            .plural(m.doc["apiVersion"].as_str().unwrap_or(""), m.kind())
            .is_none()
    }) {
        let mut paths = Vec::new();
        object_paths(&m.doc, "", &mut paths, &[]);
        for (path, steps) in paths {
            let mut doc = m.doc.clone();
            // "1" is both a string and a quantity, so a map of either takes it.
            at(&mut doc, &steps)["stackctlBogus"] = json!("1");
            let errors = schemas.validate(&doc).expect("a built-in kind");
            let field = if path.is_empty() {
                "stackctlBogus".to_string()
            } else {
                format!("{path}.stackctlBogus")
            };
            if errors.is_empty() {
                maps.insert(format!("{} {}", m.kind(), index.replace_all(&path, "[]")));
            } else {
                assert_eq!(
                    errors,
                    [format!("unknown field \"{field}\"")],
                    "{}: {path}",
                    m.path.display()
                );
                refused += 1;
            }
        }
    }
    println!(
        "schema  an unknown field refused at {refused} object paths; maps of strings: {maps:?}"
    );
    // Exactly the maps Kubernetes declares (`additionalProperties`), nothing else.
    let expected = [
        "ConfigMap data",
        "ConfigMap metadata.labels",
        "Deployment metadata.labels",
        "Deployment spec.selector.matchLabels",
        "Deployment spec.template.metadata.labels",
        "Deployment spec.template.spec.containers[].resources.limits",
        "Deployment spec.template.spec.containers[].resources.requests",
        "Job metadata.labels",
        "Job spec.template.metadata.labels",
        "NetworkPolicy metadata.labels",
        "NetworkPolicy spec.ingress[].from[].podSelector.matchLabels",
        "NetworkPolicy spec.podSelector.matchLabels",
        "Secret metadata.labels",
        "Secret stringData",
        "Service metadata.labels",
        "Service spec.selector",
    ];
    assert_eq!(maps, expected.map(String::from).into_iter().collect());
    assert!(refused > 0, "no object path refused");
}

/// What neither a schema nor kube-apiserver refuses: a Service or Deployment that selects no pod,
/// a Service port aimed at a port the pods lack. stackctl's cross-check does, exactly.
#[test]
fn kubernetes_cross_checks_refuse_selectors_that_select_nothing() {
    let s = settings(1);
    let good = kubernetes::plan(&s, &options(5), None).expect("plan");
    let check = |plan: &KubePlan| -> Vec<String> {
        kubernetes::cross_check(plan, &s)
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    let mut plan = good.clone();
    find(&mut plan, "Service", "stackctl-schema-registry")["spec"]["selector"] =
        json!({ "app.kubernetes.io/name": "registry" });
    assert_eq!(
        check(&plan),
        [
            "schema-registry/service.yaml: selector {\"app.kubernetes.io/name\":\"registry\"} matches no pod template rendered here (it would select nothing)"
        ]
    );
    let mut plan = good.clone();
    find(&mut plan, "Service", "stackctl-schema-registry")["spec"]["ports"][0]["targetPort"] =
        json!("web");
    assert_eq!(
        check(&plan),
        [
            "schema-registry/service.yaml: targetPort \"web\" is not a port of the pods the Service selects"
        ]
    );
    let mut plan = good.clone();
    let deployment = find(&mut plan, "Deployment", "stackctl-schema-registry");
    deployment["spec"]["template"]["metadata"]["labels"]
        .as_object_mut()
        .expect("labels")
        .remove("app.kubernetes.io/name");
    assert_eq!(
        check(&plan),
        [
            "schema-registry/deployment.yaml: selector {\"matchLabels\":{\"app.kubernetes.io/name\":\"stackctl-schema-registry\"}} matches no pod template rendered here (it would select nothing)",
            "schema-registry/service.yaml: selector {\"app.kubernetes.io/name\":\"stackctl-schema-registry\"} matches no pod template rendered here (it would select nothing)",
        ]
    );
}
