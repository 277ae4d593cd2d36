//! `rotate`: new secrets for some principals, written atomically with the old ones kept aside;
//! re-render; restart exactly the services holding a changed credential, in dependency order;
//! then prove it — new credential accepted, old one refused, pipeline still delivering — and only
//! then forget the old values.

mod apply;
mod prove;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::compose::Stack;
use crate::render::{self, TemplateSet};
use crate::secrets::{Secret, SecretSet, generate};
use crate::settings::{Principal, Settings};

pub use apply::{RotateError, apply};
pub use prove::{Proof, prove};

/// What a rotation will touch, in order. Never holds a value.
#[derive(Debug, Clone, Serialize)]
pub struct RotationPlan {
    pub principals: Vec<String>,
    pub files: Vec<PathBuf>,
    /// Services to restart, in dependency order.
    pub services: Vec<String>,
}

/// A planned rotation: what changes, and the new values (in memory only until persisted).
pub struct Planned {
    pub plan: RotationPlan,
    pub rotations: Vec<(Principal, Secret)>,
    /// The secret set after the rotation.
    pub next: SecretSet,
}

/// Plans the rotation of `targets`: fresh values (kept in memory only) and what they change.
pub fn plan(
    settings: &Settings,
    current: &SecretSet,
    targets: &[Principal],
    stack: &Stack,
    templates: &TemplateSet,
) -> Result<Planned, render::RenderError> {
    let rotations: Vec<(Principal, Secret)> =
        targets.iter().map(|p| (p.clone(), generate())).collect();
    let mut next = current.clone();
    for (p, s) in &rotations {
        next = next.with(p, s.clone());
    }
    let before = render::plan(settings, current, stack.phase, templates)?;
    let after = render::plan(settings, &next, stack.phase, templates)?;
    let mut files = Vec::new();
    let mut changed: BTreeSet<&str> = BTreeSet::new();
    for (a, b) in before.files.iter().zip(&after.files) {
        if a.contents != b.contents {
            files.push(a.path.clone());
            changed.insert(a.service.as_str());
        }
    }
    let services = stack
        .start_waves()
        .into_iter()
        .flatten()
        .filter(|s| changed.contains(s.name.as_str()))
        .map(|s| s.name.clone())
        .collect();
    Ok(Planned {
        plan: RotationPlan {
            principals: targets.iter().map(Principal::id).collect(),
            files,
            services,
        },
        rotations,
        next,
    })
}

/// The report of a finished rotation.
#[derive(Debug, Clone, Serialize)]
pub struct RotateReport {
    pub plan: RotationPlan,
    pub restarted: Vec<String>,
    pub proofs: Vec<Proof>,
    /// The pipeline check after the restarts: passed, and its reason.
    pub pipeline_ok: bool,
    pub pipeline: String,
    pub seconds: f64,
}

impl RotateReport {
    /// Every new credential accepted, every old one refused, and the pipeline delivering.
    pub fn proven(&self) -> bool {
        self.proofs.iter().all(Proof::ok) && self.pipeline_ok
    }
}

/// How to get out of a rotation that stopped half way.
pub fn recovery_hint(root: &Path) -> String {
    format!(
        "secrets/ holds the NEW values and the old ones are in {}; rendered files use the new values. \
         Retry with `stackctl up` (then `stackctl verify`); to roll back, copy the files from secrets/.previous/ \
         over secrets/ and run `stackctl up`",
        root.join("secrets/.previous").display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> (Settings, SecretSet, Stack) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let settings = Settings::load(root).expect("settings");
        let secrets = SecretSet::fixture(&settings.principals());
        let stack =
            crate::compose::load(root, &settings, crate::settings::Phase::MAX).expect("compose");
        (settings, secrets, stack)
    }

    fn services_for(id: &str) -> Vec<String> {
        let (settings, secrets, stack) = fixture();
        let target = settings.principal(id).expect("principal");
        plan(
            &settings,
            &secrets,
            &[target],
            &stack,
            &TemplateSet::embedded(),
        )
        .expect("plan")
        .plan
        .services
    }

    #[test]
    fn restarts_exactly_the_holders_in_dependency_order() {
        assert_eq!(services_for("kafka-connect"), ["kafka", "connect"]);
        assert_eq!(
            services_for("kafka-schema_registry"),
            ["kafka", "schema-registry"]
        );
        assert_eq!(services_for("kafka-app"), ["kafka"]);
        assert_eq!(services_for("kafka-admin"), ["kafka"]);
        assert_eq!(services_for("clickhouse-writer"), ["clickhouse", "connect"]);
        assert_eq!(services_for("clickhouse-readonly"), ["clickhouse"]);
        assert_eq!(services_for("clickhouse-admin"), ["clickhouse"]);
        assert_eq!(services_for("connect-rest"), ["connect"]);
        assert_eq!(services_for("schema-registry-rest"), ["schema-registry"]);
    }

    #[test]
    fn all_restarts_everything_broker_first() {
        let (settings, secrets, stack) = fixture();
        let Planned {
            plan,
            rotations,
            next,
        } = plan(
            &settings,
            &secrets,
            &settings.principals(),
            &stack,
            &TemplateSet::embedded(),
        )
        .expect("plan");
        assert_eq!(
            plan.services,
            ["clickhouse", "kafka", "connect", "schema-registry"]
        );
        assert_eq!(rotations.len(), 9);
        for (p, new) in &rotations {
            assert_ne!(secrets.get(p), Some(new));
            assert_eq!(next.get(p), Some(new));
        }
    }
}
