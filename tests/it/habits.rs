//! CLI tests of what users of `docker compose`, `kcat` and `clickhouse-client` reach for: JSON
//! everywhere (errors too), pipes that close early, environment overrides, `config`, `ps`, and
//! help texts that match behaviour. None of them needs a Docker engine.

use std::io::Read;
use std::process::{Command, Stdio};

use predicates::prelude::*;

use crate::Project;

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(out)
                .chars()
                .take(400)
                .collect::<String>()
        )
    })
}

/// Runs stackctl with its stdout a pipe whose reader has already gone away (as after `| head`).
fn with_closed_stdout(p: &Project, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("stackctl"))
        .args(args)
        .current_dir(p.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    (status.code(), stderr)
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    let p = Project::new();
    for args in [
        &["verify", "--list"][..],
        &["verify", "--list", "--format", "json"],
        &["completions", "bash"],
        &["config"],
    ] {
        let (code, stderr) = with_closed_stdout(&p, args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // And through a real `head`, as people type it.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; NO_COLOR=1 '{}' verify --list | head -n 2",
            assert_cmd::cargo::cargo_bin("stackctl").display()
        ))
        .current_dir(p.path())
        .output()
        .expect("sh");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Broken pipe"));
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn errors_are_json_on_stdout_with_format_json_and_the_exit_code_is_kept() {
    let p = Project::new();
    let missing = p.path().join("nowhere");
    let out = p
        .cmd()
        .args(["--format", "json", "--root"])
        .arg(&missing)
        .arg("config")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out.stdout);
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("configs/stack.yaml")),
        "{v}"
    );
    assert_eq!(v["error"]["exit_code"], 2);
    // A usage error too, and through the environment.
    for (env, args) in [
        (None, &["--format", "json", "up", "--phase", "9"][..]),
        (Some("json"), &["up", "--phase", "9"]),
        (Some("json"), &["exec", "kafka"]),
    ] {
        let mut cmd = p.cmd();
        if let Some(format) = env {
            cmd.env("STACKCTL_FORMAT", format);
        }
        let out = cmd.args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(json(&out.stdout)["error"]["exit_code"], 2, "{args:?}");
    }
    // Without json, stdout stays empty and the error is text on stderr.
    p.cmd()
        .args(["up", "--phase", "9"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("--phase"));
}

#[test]
fn completions_refuse_json_clearly() {
    let p = Project::new();
    let out = p
        .cmd()
        .args(["completions", "bash", "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let message = json(&out.stdout)["error"]["message"].to_string();
    assert!(message.contains("shell script"), "{message}");
}

#[test]
fn environment_sets_the_global_options_and_help_names_them() {
    let p = Project::new();
    p.cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("[env: STACKCTL_ROOT="))
        .stdout(predicate::str::contains("[env: STACKCTL_FORMAT="))
        .stdout(predicate::str::contains("[env: STACKCTL_COLOR="))
        .stdout(predicate::str::contains("--quiet"));
    // STACKCTL_ROOT: run from elsewhere.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let out = p
        .cmd()
        .current_dir(elsewhere.path())
        .env("STACKCTL_ROOT", p.path())
        .env("STACKCTL_FORMAT", "json")
        .arg("config")
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(json(&out.stdout)["project"], "stackctl");
    // The command line wins over the environment.
    let out = p
        .cmd()
        .env("STACKCTL_FORMAT", "json")
        .args(["--format", "human", "config"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("project: stackctl"));
    // STACKCTL_COLOR=always colours even a pipe (NO_COLOR only steers `auto`).
    let out = p
        .cmd()
        .env("STACKCTL_COLOR", "always")
        .arg("init-secrets")
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b[1m"));
    let out = p.cmd().arg("init-secrets").output().expect("run");
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'));
    // A value clap does not know is refused, naming the variable's values.
    p.cmd()
        .env("STACKCTL_COLOR", "sometimes")
        .arg("config")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("sometimes"));
}

#[test]
fn config_prints_the_resolved_model_without_a_secret() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    let yaml = p.cmd().arg("config").output().expect("run");
    assert!(yaml.status.success());
    let text = String::from_utf8_lossy(&yaml.stdout);
    for expected in [
        "project: stackctl",
        &format!("phase: {}", stackctl::settings::Phase::MAX.number()),
        "image: stackctl/kafka:4.3.1",
        "127.0.0.1:19000->9000",
        "restart: unless-stopped",
        "id: kafka-schema_registry",
        "role: schema-registry",
        "resource_limits: true",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
    let out = p
        .cmd()
        .args(["config", "--format", "json", "--phase", "1"])
        .output()
        .expect("run");
    let v = json(&out.stdout);
    assert_eq!(v["phase"], 1);
    assert_eq!(
        v["phases"].as_array().map(Vec::len),
        Some(stackctl::settings::Phase::ALL.len())
    );
    assert_eq!(v["services"]["kafka"]["limits"], serde_json::Value::Null);
    assert_eq!(v["principals"]["clickhouse"][1]["user"], "writer");
    let highest = p
        .cmd()
        .args(["config", "--format", "json"])
        .output()
        .expect("run");
    let v = json(&highest.stdout);
    assert_eq!(v["services"]["kafka"]["limits"]["cpus"], 1.0);
    assert_eq!(v["services"]["kafka"]["limits"]["memory_mb"], 1024);
    for id in ["kafka-admin", "clickhouse-writer"] {
        let secret = std::fs::read_to_string(p.path().join(format!("secrets/{id}.password")))
            .expect("secret");
        for out in [&yaml.stdout, &highest.stdout] {
            assert!(!String::from_utf8_lossy(out).contains(secret.trim_end()));
        }
    }
}

#[test]
fn compose_verbs_parse_and_help_matches_behaviour() {
    let p = Project::new();
    p.cmd()
        .args(["ps", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--clients"));
    p.cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Build or list the stack's images"))
        .stdout(predicate::str::contains("inspect").not())
        .stdout(predicate::str::contains("[alias: ps]"));
    p.cmd()
        .args(["images", "list", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("size"));
    for verb in ["start", "stop", "restart", "exec", "config"] {
        p.cmd().args([verb, "--help"]).assert().success();
    }
    p.cmd()
        .args(["up", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--force-recreate"))
        .stdout(predicate::str::contains("--no-build"));
    p.cmd()
        .args(["down", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--rmi"));
    // exec needs a command after --.
    p.cmd().args(["exec", "kafka"]).assert().code(2);
    p.cmd().args(["down", "--rmi", "all"]).assert().code(2);
}

#[test]
fn bad_names_and_times_are_refused_before_anything_starts() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    p.cmd()
        .args(["up", "nosuch"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown service `nosuch`"));
    assert!(!p.path().join(".stackctl/state.json").exists());
    p.cmd()
        .args(["logs", "--since", "yesterday"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("RFC 3339"));
}
