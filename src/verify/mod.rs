//! `verify`: positive and negative checks against the running stack. Each check has a stable id,
//! the phase from which it is required, a kind, and a time bound; checks run concurrently. A
//! negative check passes only on the expected refusal (an error code, a SASL failure), never on a
//! timeout or a refused connection.

mod authz;
mod clickhouse;
mod cluster;
mod connect;
#[cfg(test)]
pub(crate) mod fake;
mod hygiene;
mod kafka;
pub mod log_scan;
mod pipeline;
pub mod posture;
pub mod report;
mod schema_registry;
mod xml_text;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use kafka::{Refusal, refusal_verdict, unknown_topic_verdict};

use crate::clients::{ClientSetupError, Endpoints};
use crate::compose::Stack;
use crate::engine::StackView;
use crate::secrets::{Form, Redactor, SecretSet};
use crate::settings::{Phase, Settings};

/// The end-to-end pipeline check (`rotate` runs it too).
pub const PIPELINE_CHECK: &str = "pipeline.e2e";

/// Positive: something that must work does. Negative: something that must be refused is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Positive,
    Negative,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "result", content = "reason")]
pub enum Outcome {
    Pass(String),
    Fail(String),
    /// Neither: what the check wanted to prove cannot be enforced here (e.g. the server version
    /// offers no way); reported as a visible warning with the reason, never as a pass.
    Warn(String),
}

/// What the report says about a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    /// Failed, but not required at this phase.
    Warn,
    Skipped,
}

/// Everything checks may read: settings, secrets, the phase, the engine, the endpoints and their
/// clients, the project root.
pub struct Context {
    pub root: PathBuf,
    pub settings: Settings,
    pub secrets: SecretSet,
    pub redactor: Redactor,
    /// Every form of every secret ([`SecretSet::forms`]): what the leak checks look for.
    pub forms: Vec<Form>,
    pub phase: Phase,
    /// The engine behind the read-only view the checks need (a fake in unit tests).
    pub engine: Box<dyn StackView>,
    pub endpoints: Endpoints,
    /// The compose model at this phase: where each rendered file is mounted, what is declared.
    pub stack: Stack,
    /// A fresh id for this run; checks mark the data they write with it.
    pub run_id: String,
}

impl Context {
    pub fn new(
        root: &Path,
        settings: Settings,
        secrets: SecretSet,
        phase: Phase,
        engine: Box<dyn StackView>,
        stack: Stack,
    ) -> Result<Context, ClientSetupError> {
        Ok(Context {
            stack,
            root: root.to_path_buf(),
            redactor: Redactor::new(&secrets),
            forms: secrets.forms(),
            endpoints: Endpoints::new(&settings, &secrets)?,
            settings,
            secrets,
            phase,
            engine,
            run_id: new_run_id(),
        })
    }
}

/// Eight random lowercase alphanumerics: marks the data one run writes.
pub fn new_run_id() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric
        .sample_string(&mut rand::rng(), 8)
        .to_lowercase()
}

type CheckFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// A check: metadata plus the code that runs it.
pub struct Check {
    pub id: &'static str,
    pub group: &'static str,
    pub required_from: Phase,
    pub kind: Kind,
    pub bound: Duration,
    pub description: &'static str,
    pub run: for<'a> fn(&'a Context) -> CheckFuture<'a>,
}

/// Every check, in report order.
pub fn catalogue() -> Vec<Check> {
    let mut all = Vec::new();
    all.extend(kafka::checks());
    all.extend(cluster::checks());
    all.extend(schema_registry::checks());
    all.extend(connect::checks());
    all.extend(clickhouse::checks());
    all.extend(pipeline::checks());
    all.extend(hygiene::checks());
    all.extend(authz::checks());
    all.extend(posture::checks());
    all
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: String,
    pub group: String,
    pub kind: Kind,
    pub required_from: Phase,
    pub required: bool,
    pub verdict: Verdict,
    pub seconds: f64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub phase: Phase,
    pub run_id: String,
    pub seconds: f64,
    pub passed: usize,
    pub failed: usize,
    pub warned: usize,
    pub skipped: usize,
    pub checks: Vec<CheckResult>,
}

impl Report {
    pub fn success(&self) -> bool {
        self.failed == 0
    }

    /// Adds a result computed outside the catalogue (e.g. the baseline comparison).
    pub fn add(&mut self, result: CheckResult) {
        match result.verdict {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail => self.failed += 1,
            Verdict::Warn => self.warned += 1,
            Verdict::Skipped => self.skipped += 1,
        }
        self.checks.push(result);
    }
}

/// Whether `pattern` (an id, a group, or an id prefix ending in `*`) names `check`.
fn matches(check: &Check, pattern: &str) -> bool {
    pattern == check.id
        || pattern == check.group
        || pattern
            .strip_suffix('*')
            .is_some_and(|prefix| check.id.starts_with(prefix))
}

/// Whether a check is selected by `--only`/`--skip` (ids or groups; `kafka.login.*` prefixes).
pub fn selected(check: &Check, only: &[String], skip: &[String]) -> bool {
    (only.is_empty() || only.iter().any(|p| matches(check, p)))
        && !skip.iter().any(|p| matches(check, p))
}

/// The first `--only`/`--skip` pattern that names no check at all.
pub fn unknown_pattern<'a>(only: &'a [String], skip: &'a [String]) -> Option<&'a String> {
    let checks = catalogue();
    only.iter()
        .chain(skip)
        .find(|p| !checks.iter().any(|c| matches(c, p)))
}

/// Runs the selected checks concurrently, each within its bound.
pub async fn run(ctx: &Context, only: &[String], skip: &[String]) -> Report {
    let started = Instant::now();
    let checks = catalogue();
    let futures = checks.iter().map(|check| async move {
        if !selected(check, only, skip) {
            return CheckResult {
                id: check.id.into(),
                group: check.group.into(),
                kind: check.kind,
                required_from: check.required_from,
                required: ctx.phase >= check.required_from,
                verdict: Verdict::Skipped,
                seconds: 0.0,
                reason: "not selected".into(),
            };
        }
        let t = Instant::now();
        let outcome = match tokio::time::timeout(check.bound, (check.run)(ctx)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Fail(format!(
                "no result within {} s: {}",
                check.bound.as_secs(),
                check.description
            )),
        };
        let required = ctx.phase >= check.required_from;
        let (verdict, reason) = match outcome {
            Outcome::Pass(reason) => (Verdict::Pass, reason),
            Outcome::Warn(reason) => (Verdict::Warn, reason),
            Outcome::Fail(reason) if required => (Verdict::Fail, reason),
            Outcome::Fail(reason) => (
                Verdict::Warn,
                format!("{reason} (required from phase {})", check.required_from),
            ),
        };
        CheckResult {
            id: check.id.into(),
            group: check.group.into(),
            kind: check.kind,
            required_from: check.required_from,
            required,
            verdict,
            seconds: t.elapsed().as_secs_f64(),
            reason: ctx.redactor.redact(&reason),
        }
    });
    let results = futures_util::future::join_all(futures).await;
    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    Report {
        phase: ctx.phase,
        run_id: ctx.run_id.clone(),
        seconds: started.elapsed().as_secs_f64(),
        passed: count(Verdict::Pass),
        failed: count(Verdict::Fail),
        warned: count(Verdict::Warn),
        skipped: count(Verdict::Skipped),
        checks: results,
    }
}

/// Shorthand used by the check modules.
pub(crate) fn pass(reason: impl Into<String>) -> Outcome {
    Outcome::Pass(reason.into())
}

pub(crate) fn fail(reason: impl Into<String>) -> Outcome {
    Outcome::Fail(reason.into())
}

pub(crate) fn warn(reason: impl Into<String>) -> Outcome {
    Outcome::Warn(reason.into())
}

/// Declares a check whose body is an async block over `ctx`.
macro_rules! check {
    ($id:literal, $group:literal, from $phase:ident, $kind:ident, $secs:literal, $desc:literal, |$ctx:ident| $body:expr) => {
        $crate::verify::Check {
            id: $id,
            group: $group,
            required_from: $crate::settings::Phase::$phase,
            kind: $crate::verify::Kind::$kind,
            bound: std::time::Duration::from_secs($secs),
            description: $desc,
            run: |$ctx| Box::pin(async move { $body }),
        }
    };
}
pub(crate) use check;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_grouped() {
        let checks = catalogue();
        let mut ids: Vec<_> = checks.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), checks.len());
        assert!(
            checks
                .iter()
                .all(|c| c.id.starts_with(&format!("{}.", c.group)))
        );
        assert!(checks.iter().all(|c| c.bound.as_secs() <= 70));
    }

    #[test]
    fn selection_by_id_group_and_prefix() {
        let checks = catalogue();
        let pick = |only: &[&str], skip: &[&str]| -> usize {
            let only: Vec<String> = only.iter().map(std::string::ToString::to_string).collect();
            let skip: Vec<String> = skip.iter().map(std::string::ToString::to_string).collect();
            checks.iter().filter(|c| selected(c, &only, &skip)).count()
        };
        assert_eq!(pick(&[], &[]), checks.len());
        assert_eq!(pick(&["kafka.login.*"], &[]), 4);
        assert_eq!(pick(&["kafka"], &["kafka.login.*"]), 6);
        assert_eq!(pick(&["pipeline.e2e"], &[]), 1);
    }

    #[test]
    fn junit_is_well_formed_and_counts_failures() {
        let report = Report {
            phase: Phase::Hardening,
            run_id: "r".into(),
            seconds: 1.0,
            passed: 1,
            failed: 1,
            warned: 0,
            skipped: 0,
            checks: vec![
                CheckResult {
                    id: "a.x".into(),
                    group: "a".into(),
                    kind: Kind::Positive,
                    required_from: Phase::KafkaAuth,
                    required: true,
                    verdict: Verdict::Pass,
                    seconds: 0.1,
                    reason: "ok".into(),
                },
                CheckResult {
                    id: "a.y".into(),
                    group: "a".into(),
                    kind: Kind::Negative,
                    required_from: Phase::KafkaAuth,
                    required: true,
                    verdict: Verdict::Fail,
                    seconds: 0.2,
                    reason: "ALLOWED <&\"> but must be refused".into(),
                },
            ],
        };
        let xml = report::junit(&report);
        assert_eq!(xml.matches("<testcase").count(), 2);
        assert_eq!(xml.matches("<failure").count(), 1);
        let mut reader = quick_xml::Reader::from_str(&xml);
        while reader.read_event().expect("well-formed") != quick_xml::events::Event::Eof {}
    }
}
