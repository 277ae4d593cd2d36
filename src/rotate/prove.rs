//! The proof of a rotation for one principal: the new credential is accepted, the old one is
//! refused by the server's own authentication error.

use std::time::Duration;

use serde::Serialize;

use crate::clients::kafka::{LoginOutcome, Security};
use crate::clients::{Endpoints, Login};
use crate::secrets::Secret;
use crate::settings::{Phase, Principal, RestApi};

/// The proof for one principal. Where the phase gives no way to prove (the service does not
/// authenticate yet), nothing is claimed: `new_accepted` and `old_refused` are `null` and
/// `not_applicable` says why.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    pub principal: String,
    pub new_accepted: Option<bool>,
    pub old_refused: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<String>,
    pub detail: String,
}

impl Proof {
    /// Proven, or not applicable at this phase (which is not a failure of the rotation).
    pub fn ok(&self) -> bool {
        self.not_applicable.is_some()
            || (self.new_accepted == Some(true) && self.old_refused == Some(true))
    }

    fn tested(
        principal: &Principal,
        new_accepted: bool,
        old_refused: bool,
        detail: String,
    ) -> Proof {
        Proof {
            principal: principal.id(),
            new_accepted: Some(new_accepted),
            old_refused: Some(old_refused),
            not_applicable: None,
            detail,
        }
    }

    /// Nothing tested: `reason` says why no proof can be made at `phase`.
    pub fn not_applicable(principal: &Principal, phase: Phase, reason: &str) -> Proof {
        let detail = format!("not applicable at phase {phase}: {reason}");
        Proof {
            principal: principal.id(),
            new_accepted: None,
            old_refused: None,
            not_applicable: Some(detail.clone()),
            detail,
        }
    }
}

/// Proves that `principal` logs in with `new` and is refused with `old`.
pub async fn prove(
    endpoints: &Endpoints,
    phase: Phase,
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
            let kafka = endpoints.kafka();
            let accepted = kafka
                .login(&Security::Sasl(login(new)), Duration::from_secs(15))
                .await;
            let refused = kafka
                .login(&Security::Sasl(login(old)), Duration::from_secs(8))
                .await;
            Proof::tested(
                principal,
                accepted == LoginOutcome::Accepted,
                matches!(refused, LoginOutcome::AuthenticationFailed(_)),
                format!(
                    "new: {}; old: {}",
                    outcome_word(&accepted),
                    outcome_word(&refused)
                ),
            )
        }
        Principal::Rest { .. } if !phase.enforces_authorization() => Proof::not_applicable(
            principal,
            phase,
            "the REST APIs authenticate from phase 5, so neither credential can be tested",
        ),
        Principal::Rest { api, .. } => prove_rest(endpoints, principal, *api, new, old).await,
        Principal::ClickHouse { .. } if !phase.enforces_clickhouse_auth() => Proof::not_applicable(
            principal,
            phase,
            "ClickHouse authenticates from phase 2, so neither credential can be tested",
        ),
        Principal::ClickHouse { .. } => {
            let ch = endpoints.clickhouse(Duration::from_secs(10));
            let new_answer = ch.query(Some(&login(new)), "SELECT 1", None).await;
            let old_answer = ch.query(Some(&login(old)), "SELECT 1", None).await;
            let new_ok = new_answer
                .as_ref()
                .is_ok_and(super::super::clients::clickhouse::Answer::ok);
            let old_code = old_answer.as_ref().ok().and_then(|a| a.code);
            Proof::tested(
                principal,
                new_ok,
                matches!(old_code, Some(193 | 516)),
                format!(
                    "new: {}; old: {}",
                    if new_ok {
                        "accepted".to_string()
                    } else {
                        format!("refused ({:?})", new_answer.ok().and_then(|a| a.code))
                    },
                    old_code.map_or_else(
                        || "NOT refused".into(),
                        |c| format!("refused with code {c}")
                    )
                ),
            )
        }
    }
}

/// The status of an authenticated GET on `api` as `principal` with `password`.
async fn rest_status(
    endpoints: &Endpoints,
    principal: &Principal,
    api: RestApi,
    password: &Secret,
) -> Result<u16, reqwest::Error> {
    let login = Some(Login {
        user: principal.user().to_string(),
        password: password.clone(),
    });
    let timeout = Duration::from_secs(10);
    match api {
        RestApi::Connect => {
            endpoints
                .connect(timeout)
                .with_login(login)
                .status_of("/connectors")
                .await
        }
        RestApi::SchemaRegistry => {
            endpoints
                .schema_registry(timeout)
                .with_login(login)
                .status_of("/apis/ccompat/v7/subjects")
                .await
        }
    }
}

/// A REST login: the new one is let in, the old one gets 401.
async fn prove_rest(
    endpoints: &Endpoints,
    principal: &Principal,
    api: RestApi,
    new: &Secret,
    old: &Secret,
) -> Proof {
    let new_status = rest_status(endpoints, principal, api, new).await;
    let old_status = rest_status(endpoints, principal, api, old).await;
    let word = |r: &Result<u16, reqwest::Error>| match r {
        Ok(code) => format!("HTTP {code}"),
        Err(e) => format!("no answer ({e})"),
    };
    Proof::tested(
        principal,
        matches!(new_status, Ok(200)),
        matches!(old_status, Ok(401)),
        format!("new: {}; old: {}", word(&new_status), word(&old_status)),
    )
}

fn outcome_word(o: &LoginOutcome) -> String {
    match o {
        LoginOutcome::Accepted => "accepted".into(),
        LoginOutcome::AuthenticationFailed(_) => "refused (SASL authentication failed)".into(),
        LoginOutcome::DisconnectedDuringHandshake(_) => "disconnected".into(),
        LoginOutcome::ClosedWithoutAnswer(r) => format!("no broker answered ({r})"),
        LoginOutcome::Inconclusive(r) => format!("inconclusive ({r})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ClickHouseRole;

    #[test]
    fn below_the_phase_that_authenticates_nothing_is_claimed() {
        let principal = Principal::ClickHouse {
            role: ClickHouseRole::Writer,
            user: "writer".into(),
        };
        let proof = Proof::not_applicable(
            &principal,
            Phase::ALL[0],
            "ClickHouse authenticates from phase 2",
        );
        assert!(proof.ok(), "not applicable is not a failed rotation");
        let json = serde_json::to_value(&proof).expect("json");
        assert_eq!(json["new_accepted"], serde_json::Value::Null);
        assert_eq!(json["old_refused"], serde_json::Value::Null);
        let reason = json["not_applicable"].as_str().expect("reason");
        assert!(
            reason.starts_with(&format!("not applicable at phase {}: ", Phase::ALL[0])),
            "{reason}"
        );
        let half = Proof::tested(&principal, true, false, "old: NOT refused".into());
        assert!(!half.ok());
        assert_eq!(
            serde_json::to_value(&half).expect("json")["old_refused"],
            false
        );
    }
}
