//! The proof of a rotation for one principal: the new credential is accepted, the old one is
//! refused by the server's own authentication error.

use std::time::Duration;

use serde::Serialize;

use crate::clients::kafka::{LoginOutcome, Security};
use crate::clients::{Endpoints, Login};
use crate::secrets::Secret;
use crate::settings::{Phase, Principal, RestApi};

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
        Principal::Rest { .. } if !phase.enforces_authorization() => Proof {
            principal: principal.id(),
            new_accepted: true,
            old_refused: true,
            detail: "REST authentication is not enforced before phase 5; nothing to prove".into(),
        },
        Principal::Rest { api, .. } => prove_rest(endpoints, principal, *api, new, old).await,
        Principal::ClickHouse { .. } if !phase.enforces_clickhouse_auth() => Proof {
            principal: principal.id(),
            new_accepted: true,
            old_refused: true,
            detail: "ClickHouse authentication is not enforced before phase 2; nothing to prove"
                .into(),
        },
        Principal::ClickHouse { .. } => {
            let ch = endpoints.clickhouse(Duration::from_secs(10));
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
    Proof {
        principal: principal.id(),
        new_accepted: matches!(new_status, Ok(200)),
        old_refused: matches!(old_status, Ok(401)),
        detail: format!("new: {}; old: {}", word(&new_status), word(&old_status)),
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
