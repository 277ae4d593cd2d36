//! Black-box tests of the real binary.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use predicates::prelude::*;

use crate::Project;

const PRINCIPALS: [&str; 9] = [
    "kafka-admin",
    "kafka-schema_registry",
    "kafka-connect",
    "kafka-app",
    "clickhouse-admin",
    "clickhouse-writer",
    "clickhouse-readonly",
    "connect-rest",
    "schema-registry-rest",
];

fn secret_path(p: &Project, id: &str) -> std::path::PathBuf {
    p.path().join("secrets").join(format!("{id}.password"))
}

fn all_secret_values(p: &Project) -> Vec<String> {
    PRINCIPALS
        .iter()
        .map(|id| {
            fs::read_to_string(secret_path(p, id))
                .expect("secret")
                .trim_end()
                .to_string()
        })
        .collect()
}

/// Runs `cmd` and asserts that it is refused: exit code 2 and each of `needles` in stderr.
fn assert_refused(cmd: &mut assert_cmd::Command, needles: &[&str]) {
    let mut refused = cmd.assert().code(2);
    for needle in needles {
        refused = refused.stderr(predicate::str::contains(*needle));
    }
}

fn assert_no_secret_in(p: &Project, output: &std::process::Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for value in all_secret_values(p) {
        assert_eq!(stdout.matches(&value).count(), 0, "secret in stdout");
        assert_eq!(stderr.matches(&value).count(), 0, "secret in stderr");
    }
}

#[test]
fn help_explains_commands_and_exit_codes() {
    let p = Project::new();
    p.cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("init-secrets"))
        .stdout(predicate::str::contains("render"))
        .stdout(predicate::str::contains("Exit codes"));
    p.cmd()
        .args(["render", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--phase"))
        .stdout(predicate::str::contains("hardening"));
}

#[test]
fn init_secrets_creates_private_files_and_prints_no_value() {
    let p = Project::new();
    let out = p.cmd().arg("init-secrets").output().expect("run");
    crate::assert_success(&out);
    let dir_mode = fs::metadata(p.path().join("secrets"))
        .expect("dir")
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    for id in PRINCIPALS {
        let meta = fs::metadata(secret_path(&p, id)).expect("secret file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{id}");
        let value = fs::read_to_string(secret_path(&p, id)).expect("read");
        assert_eq!(value.trim_end().len(), 40, "{id}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("created").count(), 9, "{stdout}");
    assert_no_secret_in(&p, &out);
    // Every value is distinct.
    let mut values = all_secret_values(&p);
    values.sort();
    values.dedup();
    assert_eq!(values.len(), 9);
}

/// Bytes and mtime of every secret file.
fn file_states(p: &Project) -> Vec<(Vec<u8>, i64, i64)> {
    PRINCIPALS
        .iter()
        .map(|id| {
            let path = secret_path(p, id);
            let meta = fs::metadata(&path).expect("meta");
            (
                fs::read(&path).expect("read"),
                meta.mtime(),
                meta.mtime_nsec(),
            )
        })
        .collect()
}

#[test]
fn init_secrets_twice_keeps_files_byte_identical_with_same_mtime() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    let before = file_states(&p);
    let out = p.cmd().arg("init-secrets").output().expect("run");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).matches("kept").count(),
        9
    );
    let after = file_states(&p);
    assert_eq!(before, after);
}

#[test]
fn force_regenerates_only_the_named_principal() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    let before = all_secret_values(&p);
    let out = p
        .cmd()
        .args(["init-secrets", "--force", "kafka-app", "--format", "json"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let regenerated: Vec<_> = report["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["outcome"] == "regenerated")
        .map(|e| e["principal"].as_str().expect("str").to_string())
        .collect();
    assert_eq!(regenerated, ["kafka-app"]);
    let after = all_secret_values(&p);
    let changed: Vec<_> = PRINCIPALS
        .iter()
        .zip(before.iter().zip(&after))
        .filter(|(_, (b, a))| b != a)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(changed, ["kafka-app"]);
    assert_no_secret_in(&p, &out);
}

#[test]
fn force_with_unknown_principal_fails_and_changes_nothing() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    let before = all_secret_values(&p);
    assert_refused(
        p.cmd().args(["init-secrets", "--force", "kafka-mallory"]),
        &["unknown principal `kafka-mallory`"],
    );
    assert_eq!(before, all_secret_values(&p));
}

#[test]
fn init_secrets_refuses_when_secrets_are_not_git_ignored() {
    let p = Project::new();
    fs::write(p.path().join(".gitignore"), "/target\n").expect("write");
    assert_refused(
        p.cmd().arg("init-secrets"),
        &["is not ignored by git", ".gitignore"],
    );
    assert!(!p.path().join("secrets/kafka-admin.password").exists());
}

#[test]
fn init_secrets_refuses_when_git_tracks_a_secret() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(p.path())
            .status()
            .expect("git")
    };
    assert!(git(&["add", "-f", "secrets/kafka-app.password"]).success());
    assert_refused(
        p.cmd().arg("init-secrets"),
        &[
            "git tracks files under secrets/",
            "secrets/kafka-app.password",
        ],
    );
}

#[test]
fn concurrent_init_secrets_runs_do_not_corrupt_anything() {
    let p = Project::new();
    let children: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("stackctl"))
                .arg("init-secrets")
                .current_dir(p.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut created = 0;
    for child in children {
        let out = child.wait_with_output().expect("wait");
        crate::assert_success(&out);
        created += String::from_utf8_lossy(&out.stdout)
            .matches("created")
            .count();
    }
    assert_eq!(created, 9, "each secret is created exactly once");
    for id in PRINCIPALS {
        let value = fs::read_to_string(secret_path(&p, id)).expect("read");
        assert_eq!(value.len(), 41, "{id}: one 40-character line");
    }
    let leftovers: Vec<_> = fs::read_dir(p.path().join("secrets"))
        .expect("ls")
        .filter_map(std::result::Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".stackctl-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn render_writes_files_with_private_modes() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    let out = p
        .cmd()
        .args(["render", "--phase", "4"])
        .output()
        .expect("run");
    crate::assert_success(&out);
    assert_no_secret_in(&p, &out);
    let dir = p.path().join(".stackctl/rendered");
    let mode = |rel: &str| fs::metadata(dir.join(rel)).expect(rel).permissions().mode() & 0o777;
    assert_eq!(mode(""), 0o700);
    assert_eq!(mode("kafka/server.properties"), 0o600);
    assert_eq!(mode("clickhouse/users.d/stackctl-users.xml"), 0o600);
    assert_eq!(mode("connect/secrets/clickhouse-writer.properties"), 0o600);
    assert_eq!(mode("connect/clickhouse-sink.json"), 0o644);
    // A second render changes nothing on disk.
    let again = p
        .cmd()
        .args(["render", "--phase", "4", "--format", "json"])
        .output()
        .expect("run");
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
    assert!(
        report["files"]
            .as_array()
            .expect("files")
            .iter()
            .all(|f| f["change"] == "unchanged")
    );
}

/// The project's templates/ is read at run time: an edit shows in the next render, no rebuild;
/// without the directory the built-in set is used, and the report says which.
#[test]
fn an_edited_template_changes_the_rendered_file_without_a_rebuild() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    let render = |p: &Project| -> serde_json::Value {
        let out = p
            .cmd()
            .args(["render", "--format", "json"])
            .output()
            .expect("run");
        crate::assert_success(&out);
        serde_json::from_slice(&out.stdout).expect("json")
    };
    assert_eq!(render(&p)["templates"]["kind"], "embedded");
    let template = p.copy_templates().join("clickhouse/schema.sql.j2");
    let text = fs::read_to_string(&template).expect("template");
    fs::write(&template, format!("-- edited by the test\n{text}")).expect("edit");
    let report = render(&p);
    assert_eq!(report["templates"]["kind"], "project");
    let schema = fs::read_to_string(p.path().join(".stackctl/rendered/clickhouse/schema.sql"))
        .expect("rendered schema");
    assert!(schema.starts_with("-- edited by the test\n"), "{schema}");
    // An incomplete templates/ is refused by name, not silently mixed with the built-in set.
    fs::remove_file(&template).expect("rm");
    assert_refused(
        p.cmd().arg("render"),
        &["templates/clickhouse/schema.sql.j2 is missing"],
    );
}

/// Each way a secret can be unfit stops `render` before anything is written, naming the file.
#[test]
fn render_fails_closed_on_each_bad_secret() {
    type Breaker = dyn Fn(&std::path::Path);
    let cases: [(&str, &Breaker, &str); 5] = [
        (
            "missing",
            &|f| fs::remove_file(f).expect("rm"),
            "is missing",
        ),
        ("empty", &|f| fs::write(f, "").expect("write"), "is empty"),
        (
            "short",
            &|f| fs::write(f, "Sh0rtButReal\n").expect("write"),
            "12 characters long",
        ),
        (
            "placeholder",
            &|f| fs::write(f, "change_me_change_me_change_me_change_me\n").expect("write"),
            "placeholder",
        ),
        (
            "world-readable",
            &|f| fs::set_permissions(f, fs::Permissions::from_mode(0o644)).expect("chmod"),
            "accessible to group or others (mode 0644)",
        ),
    ];
    for (name, break_it, expected) in cases {
        let p = Project::new();
        p.cmd().arg("init-secrets").assert().success();
        let target = secret_path(&p, "clickhouse-writer");
        break_it(&target);
        let out = p
            .cmd()
            .args(["render", "--phase", "2"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("secrets/clickhouse-writer.password"),
            "{name}: {stderr}"
        );
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert_eq!(
            stderr.matches("clickhouse-admin.password").count(),
            0,
            "{name}: only the bad file is named"
        );
        for value in PRINCIPALS
            .iter()
            .filter_map(|id| fs::read_to_string(secret_path(&p, id)).ok())
            .map(|v| v.trim_end().to_string())
            .filter(|v| v.len() >= 12)
        {
            assert_eq!(stderr.matches(&value).count(), 0, "{name}: value leaked");
        }
        assert!(
            !p.path().join(".stackctl/rendered").exists(),
            "{name}: nothing rendered"
        );
    }
}

#[test]
fn missing_settings_file_names_the_file_and_the_fix() {
    let p = Project::new();
    fs::remove_file(p.path().join("configs/stack.yaml")).expect("rm");
    assert_refused(
        p.cmd().arg("init-secrets"),
        &["configs/stack.yaml", "--root"],
    );
}

#[test]
fn invalid_phase_is_a_usage_error() {
    let p = Project::new();
    assert_refused(
        p.cmd().args(["render", "--phase", "6"]),
        &["6 is not in 1..=5"],
    );
}

#[test]
fn completions_are_generated() {
    let p = Project::new();
    p.cmd()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("init-secrets"));
}

#[test]
fn docker_unreachable_is_exit_2_with_the_fix() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    for args in [
        &["verify"][..],
        &["status"],
        &["up", "--phase", "1"],
        &["down"],
    ] {
        assert_refused(
            p.cmd()
                .args(args)
                .env("DOCKER_HOST", "unix:///nonexistent/stackctl-test.sock"),
            &["Docker engine is unreachable", "ensure-docker.sh"],
        );
    }
}

#[test]
fn rotate_needs_principals_or_all_and_a_running_stack() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    let before = all_secret_values(&p);
    assert_refused(p.cmd().arg("rotate"), &["--all"]);
    assert_refused(
        p.cmd().args(["rotate", "kafka-mallory"]),
        &["unknown principal `kafka-mallory`"],
    );
    assert_refused(
        p.cmd().args(["rotate", "kafka-app"]),
        &["init-secrets --force"],
    );
    assert_eq!(
        before,
        all_secret_values(&p),
        "a refused rotation changes nothing"
    );
}

#[test]
fn verify_lists_its_checks() {
    let p = Project::new();
    let out = p
        .cmd()
        .args(["verify", "--list", "--format", "json"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // 58 on main plus pipeline.dead-letter (issue 12), plus hygiene.mounted-secret-modes
    // (issue 16), plus the 4 cluster.* checks (issue 18).
    assert_eq!(checks.as_array().expect("array").len(), 65);
}
