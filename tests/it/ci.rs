//! The CI workflows run scripts/ci-steps.sh and nothing else, every step they name exists, and
//! each required step is there with the condition it needs (logs on failure, down always).
//! actionlint checks the GitHub workflow itself (scripts/test.sh); the e2e test runs the steps.

use std::collections::BTreeSet;
use std::process::Command;

use serde_norway::Value;

use crate::repo_root;

const SCRIPT: &str = "./scripts/ci-steps.sh ";

fn script_steps() -> BTreeSet<String> {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/ci-steps.sh"))
        .arg("--list")
        .output()
        .expect("run ci-steps.sh --list");
    assert!(out.status.success(), "ci-steps.sh --list failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join(path)).expect("read workflow");
    serde_norway::from_str(&text).expect("workflow YAML")
}

/// The step a command line runs; the line must be a call of the script (or a shell `if` around one).
fn step_of(line: &str) -> String {
    let at = line
        .find(SCRIPT)
        .unwrap_or_else(|| panic!("`{line}` does not run {SCRIPT}<step>"));
    line[at + SCRIPT.len()..]
        .split(|c: char| c.is_whitespace() || c == ')' || c == ';')
        .next()
        .expect("step name")
        .to_string()
}

#[test]
fn github_workflow_runs_the_script_steps_with_their_conditions() {
    let known = script_steps();
    let workflow = yaml(".github/workflows/stack.yml");
    let steps = workflow["jobs"]["verify"]["steps"]
        .as_sequence()
        .expect("jobs.verify.steps");
    let mut seen = Vec::new();
    for step in steps {
        let Some(run) = step["run"].as_str() else {
            continue;
        };
        let name = step_of(run);
        assert!(known.contains(&name), "unknown step {name} in `{run}`");
        let condition = step["if"].as_str().unwrap_or("").to_string();
        seen.push((name, condition));
    }
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "build",
            "images-key",
            "images",
            "save-images",
            "secrets",
            "up",
            "verify",
            "logs",
            "down"
        ]
    );
    let condition = |step: &str| {
        seen.iter()
            .find(|(n, _)| n == step)
            .map(|(_, c)| c.clone())
            .expect("step")
    };
    assert_eq!(condition("logs"), "failure()");
    assert_eq!(condition("down"), "always()");
    assert!(condition("save-images").contains("cache-hit != 'true'"));
}

#[test]
fn gitlab_job_runs_the_same_steps_and_publishes_junit() {
    let known = script_steps();
    let ci = yaml(".gitlab-ci.yml");
    let job = &ci["verify"];
    let lines = |key: &str| -> Vec<String> {
        job[key]
            .as_sequence()
            .unwrap_or_else(|| panic!("verify.{key}"))
            .iter()
            .map(|l| step_of(l.as_str().expect("script line")))
            .collect()
    };
    let script = lines("script");
    let after = lines("after_script");
    for name in script.iter().chain(&after) {
        assert!(known.contains(name), "unknown step {name}");
    }
    assert_eq!(
        script,
        ["build", "images", "save-images", "secrets", "up", "verify"]
    );
    assert_eq!(after, ["logs", "down"]);
    assert_eq!(
        job["artifacts"]["reports"]["junit"].as_str(),
        Some(".stackctl/verify-junit.xml")
    );
}

#[test]
fn the_script_refuses_an_unknown_step_by_name() {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/ci-steps.sh"))
        .arg("deploy-to-prod")
        .output()
        .expect("run ci-steps.sh");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown step `deploy-to-prod`"), "{err}");
    assert!(err.contains("images-key"), "{err}");
}
