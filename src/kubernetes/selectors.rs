//! Cross-checks of what kube-apiserver's own validation would not catch either: a Deployment's
//! selector matches its pod template, a Service selects a pod template rendered here and each of
//! its ports targets a port those pods declare. A Service that selects nothing is valid to every
//! schema and routes nothing.

use serde_json::{Map, Value};

use super::KubePlan;
use super::check::CrossCheckError;

/// Whether every `key: value` of `selector` is among `labels`.
fn selects(selector: &Map<String, Value>, labels: &Value) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn text(v: &Value) -> String {
    v.to_string()
}

pub(super) fn check(plan: &KubePlan) -> Vec<CrossCheckError> {
    let mut errors = Vec::new();
    // (labels, container ports) of every pod template rendered.
    let mut pods = Vec::new();
    for m in plan.manifests.iter().filter(|m| m.kind() == "Deployment") {
        let template = &m.doc["spec"]["template"];
        let labels = &template["metadata"]["labels"];
        let empty = Map::new();
        let selector = m.doc["spec"]["selector"]["matchLabels"]
            .as_object()
            .unwrap_or(&empty);
        if selector.is_empty() || !selects(selector, labels) {
            errors.push(CrossCheckError::SelectorMismatch {
                file: m.path.clone(),
                selector: text(&m.doc["spec"]["selector"]),
            });
        }
        let ports: Vec<&Value> = template["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["ports"].as_array().into_iter().flatten())
            .collect();
        pods.push((labels, ports));
    }
    for m in plan.manifests.iter().filter(|m| m.kind() == "Service") {
        let Some(selector) = m.doc["spec"]["selector"].as_object() else {
            continue; // a Service without selector is managed by hand (EndpointSlices)
        };
        let Some((_, ports)) = pods.iter().find(|(labels, _)| selects(selector, labels)) else {
            errors.push(CrossCheckError::SelectorMismatch {
                file: m.path.clone(),
                selector: text(&m.doc["spec"]["selector"]),
            });
            continue;
        };
        for port in m.doc["spec"]["ports"].as_array().into_iter().flatten() {
            let target = match &port["targetPort"] {
                Value::Null => &port["port"],
                t => t,
            };
            let declared = ports.iter().any(|p| match target {
                Value::String(_) => &p["name"] == target,
                _ => &p["containerPort"] == target,
            });
            if !declared {
                errors.push(CrossCheckError::UnknownTargetPort {
                    file: m.path.clone(),
                    port: text(target),
                });
            }
        }
    }
    errors
}
