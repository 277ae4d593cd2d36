//! `rotate`: new secrets for some principals, written atomically with the old ones kept aside;
//! re-render; restart exactly the services holding a changed credential, in dependency order;
//! then prove it — new credential accepted, old one refused, pipeline still delivering — and only
//! then forget the old values.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::clients::Login;
use crate::clients::clickhouse::ClickHouse;
use crate::clients::kafka::{Kafka, LoginOutcome, Security};
use crate::compose::Stack;
use crate::config::{Principal, Settings};
use crate::render;
use crate::secrets::{Secret, SecretSet, generate};

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
) -> Result<Planned, render::RenderError> {
    let rotations: Vec<(Principal, Secret)> =
        targets.iter().map(|p| (p.clone(), generate())).collect();
    let mut next = current.clone();
    for (p, s) in &rotations {
        next = next.with(p, s.clone());
    }
    let before = render::plan(settings, current, stack.phase)?;
    let after = render::plan(settings, &next, stack.phase)?;
    let mut files = Vec::new();
    let mut changed: BTreeSet<&str> = BTreeSet::new();
    for (a, b) in before.files.iter().zip(&after.files) {
        if a.contents != b.contents {
            files.push(a.path.clone());
            changed.insert(a.service);
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

/// The proof for one principal.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    pub principal: String,
    pub new_accepted: bool,
    pub old_refused: bool,
    pub detail: String,
}

impl Proof {
    pub fn ok(&self) -> bool {
        self.new_accepted && self.old_refused
    }
}

/// Proves that `principal` logs in with `new` and is refused with `old`.
pub async fn prove(
    settings: &Settings,
    phase: u8,
    principal: &Principal,
    new: &Secret,
    old: &Secret,
) -> Proof {
    let login = |password: &Secret| Login {
        user: principal.user().to_string(),
        password: password.clone(),
    };
    match principal {
        Principal::Kafka { .. } => {
            let kafka = Kafka::new(format!("localhost:{}", settings.kafka.host_port));
            let accepted = kafka
                .login(&Security::Sasl(login(new)), Duration::from_secs(15))
                .await;
            let refused = kafka
                .login(&Security::Sasl(login(old)), Duration::from_secs(8))
                .await;
            Proof {
                principal: principal.id(),
                new_accepted: accepted == LoginOutcome::Accepted,
                old_refused: matches!(refused, LoginOutcome::AuthenticationFailed(_)),
                detail: format!(
                    "new: {}; old: {}",
                    outcome_word(&accepted),
                    outcome_word(&refused)
                ),
            }
        }
        Principal::ClickHouse { .. } if phase < 2 => Proof {
            principal: principal.id(),
            new_accepted: true,
            old_refused: true,
            detail: "ClickHouse authentication is not enforced before phase 2; nothing to prove"
                .into(),
        },
        Principal::ClickHouse { .. } => {
            let ch = ClickHouse::new(settings.clickhouse.host_http_port, Duration::from_secs(10));
            let new_answer = ch.query(Some(&login(new)), "SELECT 1", None).await;
            let old_answer = ch.query(Some(&login(old)), "SELECT 1", None).await;
            let new_ok = new_answer.as_ref().is_ok_and(|a| a.ok());
            let old_code = old_answer.as_ref().ok().and_then(|a| a.code);
            Proof {
                principal: principal.id(),
                new_accepted: new_ok,
                old_refused: matches!(old_code, Some(193 | 516)),
                detail: format!(
                    "new: {}; old: {}",
                    if new_ok {
                        "accepted".to_string()
                    } else {
                        format!("refused ({:?})", new_answer.ok().and_then(|a| a.code))
                    },
                    old_code
                        .map(|c| format!("refused with code {c}"))
                        .unwrap_or_else(|| "NOT refused".into())
                ),
            }
        }
    }
}

fn outcome_word(o: &LoginOutcome) -> String {
    match o {
        LoginOutcome::Accepted => "accepted".into(),
        LoginOutcome::AuthenticationFailed(_) => "refused (SASL authentication failed)".into(),
        LoginOutcome::DisconnectedDuringHandshake(_) => "disconnected".into(),
        LoginOutcome::Inconclusive(r) => format!("inconclusive ({r})"),
    }
}

/// The report of a finished rotation.
#[derive(Debug, Clone, Serialize)]
pub struct RotateReport {
    pub plan: RotationPlan,
    pub restarted: Vec<String>,
    pub proofs: Vec<Proof>,
    pub pipeline: String,
    pub seconds: f64,
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

pub fn elapsed(started: Instant) -> f64 {
    started.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;
    use std::collections::BTreeMap;

    fn fixture() -> (Settings, SecretSet, Stack) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let settings = Settings::load(root).expect("settings");
        let secrets = SecretSet::from_map(
            settings
                .principals()
                .iter()
                .map(|p| {
                    (
                        p.id(),
                        Secret::new(format!("{}-fixture-0123456789abcdefghijklmnop", p.user())),
                    )
                })
                .collect::<BTreeMap<_, _>>(),
        );
        let stack = crate::compose::load(root, &settings, 4).expect("compose");
        (settings, secrets, stack)
    }

    fn services_for(id: &str) -> Vec<String> {
        let (settings, secrets, stack) = fixture();
        let target = settings.principal(id).expect("principal");
        plan(&settings, &secrets, &[target], &stack)
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
    }

    #[test]
    fn all_restarts_everything_broker_first() {
        let (settings, secrets, stack) = fixture();
        let Planned {
            plan,
            rotations,
            next,
        } = plan(&settings, &secrets, &settings.principals(), &stack).expect("plan");
        assert_eq!(
            plan.services,
            ["clickhouse", "kafka", "connect", "schema-registry"]
        );
        assert_eq!(rotations.len(), 7);
        for (p, new) in &rotations {
            assert_ne!(secrets.get(p), Some(new));
            assert_eq!(next.get(p), Some(new));
        }
    }
}
