//! Part of the end-to-end test (issue 16, checks that cannot lie): (a) `verify` on a checkout
//! git refuses fails the hygiene checks and says why; (b) an ACL of a kind stackctl does not
//! model, made on the broker, fails `verify` by name and `up` removes it; (c) the plaintext probe
//! against a port that accepts and closes without speaking Kafka fails; (d) a broker
//! crash-looping on a broken template is repaired by `up` on the first try once it is fixed.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::process::Output;
use std::time::{Duration, Instant};

use stackctl::clients::kafka::{Kafka, Security};
use stackctl::engine::Engine;
use stackctl::engine::containers::ProjectContainer;
use stackctl::settings::Settings;
use stackctl::verify::{Outcome, Refusal, refusal_verdict};

use crate::Project;
use crate::e2e::{failed, set};

/// The reason of check `id` in a `verify --format json` run.
fn reason(out: &Output, id: &str) -> String {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("verify JSON");
    crate::e2e_fixture::check_reason(&report, id).to_string()
}

/// `verify --only <only> --format json`.
fn verify_only(run: &dyn Fn(&[&str]) -> Output, only: &str) -> Output {
    run(&["verify", "--only", only, "--format", "json"])
}

/// The project's broker container, as the engine lists it now.
fn kafka_container(
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    engine: &Engine,
) -> ProjectContainer {
    rt.block_on(engine.project_containers(&settings.project))
        .expect("containers")
        .into_iter()
        .find(|c| c.service == "kafka")
        .expect("kafka container")
}

/// Changes the owner of `path` and everything below it (the test runs as root).
fn chown(path: &std::path::Path, uid: u32) {
    let status = std::process::Command::new("chown")
        .arg("-R")
        .arg(uid.to_string())
        .arg(path)
        .status()
        .expect("chown");
    assert!(status.success(), "chown {uid} {}", path.display());
}

pub fn checks_that_cannot_lie(
    p: &Project,
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    engine: &Engine,
    run: &dyn Fn(&[&str]) -> Output,
) {
    git_refuses(p, run);
    unmodelled_acl(rt, settings, engine, run);
    proxy_close(rt);
    crash_loop_repaired(p, rt, settings, engine, run);
}

/// (a) The checkout belongs to another uid: git refuses it ("dubious ownership").
fn git_refuses(p: &Project, run: &dyn Fn(&[&str]) -> Output) {
    let git_dir = p.path().join(".git");
    let owner = std::fs::metadata(&git_dir).expect(".git").uid();
    chown(&git_dir, 4242);
    let out = verify_only(run, "hygiene");
    chown(&git_dir, owner);
    assert_eq!(
        failed(&out),
        set(&["hygiene.secret-files", "hygiene.tracked-files"])
    );
    for id in ["hygiene.secret-files", "hygiene.tracked-files"] {
        let why = reason(&out, id);
        assert!(
            why.contains("git cannot answer") && why.contains("safe.directory"),
            "{id}: {why}"
        );
    }
    let out = verify_only(run, "hygiene");
    assert_eq!(failed(&out), BTreeSet::new(), "git answers again");
}

/// (b) A User-resource ACL with the CreateTokens operation: neither has a word in stackctl (nor in
/// librdkafka, which reports both as UNKNOWN).
fn unmodelled_acl(
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    engine: &Engine,
    run: &dyn Fn(&[&str]) -> Output,
) {
    let kafka = kafka_container(rt, settings, engine);
    let add = [
        "/opt/kafka/bin/stackctl-kafka",
        "run-class",
        "org.apache.kafka.tools.AclCommand",
        "--bootstrap-server",
        "localhost:9092",
        "--command-config",
        "/etc/kafka/healthcheck.properties",
        "--add",
        "--allow-principal",
        "User:mallory",
        "--operation",
        "CreateTokens",
        "--user-principal",
        "User:app",
    ];
    let (code, output) = rt.block_on(engine.exec(&kafka.id, &add)).expect("exec");
    assert_eq!(code, 0, "AclCommand --add: {output}");
    let out = verify_only(run, "authz.acls-as-declared");
    assert_eq!(failed(&out), set(&["authz.acls-as-declared"]));
    assert_eq!(out.status.code(), Some(1));
    let why = reason(&out, "authz.acls-as-declared");
    assert!(
        why.contains("User:mallory ALLOW") && why.contains("a kind stackctl does not model"),
        "{why}"
    );
    let up = run(&["up", "--format", "json"]);
    assert!(up.status.success(), "up after the unmodelled ACL failed");
    let report: serde_json::Value = serde_json::from_slice(&up.stdout).expect("up JSON");
    assert!(
        report["steps"].as_array().expect("steps").iter().any(|s| s
            .as_str()
            .is_some_and(|s| s.starts_with(
                "removed undeclared ACL of a kind stackctl does not model: User:mallory ALLOW"
            ))),
        "{report}"
    );
    let out = verify_only(run, "authz.acls-as-declared");
    assert_eq!(failed(&out), BTreeSet::new(), "the ACL is gone");
}

/// (c) A port that accepts and closes at once, as Docker's proxy does with no broker behind it.
fn proxy_close(rt: &tokio::runtime::Runtime) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    let outcome = rt
        .block_on(Kafka::new(addr.to_string()).login(&Security::Plaintext, Duration::from_secs(6)));
    let verdict = refusal_verdict(&outcome, Refusal::CloseAfterBrokerSpoke);
    eprintln!("plaintext probe against {addr}: {outcome:?} -> {verdict:?}");
    assert!(
        matches!(&verdict, Outcome::Fail(r) if r.starts_with("could not look")),
        "{verdict:?}"
    );
}

/// (d) A template the broker cannot start with, `up` (fails), the broker restarting under its
/// policy, the template fixed, `up` again: repaired on the first try.
fn crash_loop_repaired(
    p: &Project,
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    engine: &Engine,
    run: &dyn Fn(&[&str]) -> Output,
) {
    let templates = p.copy_templates();
    let server = templates.join("kafka/server.properties.j2");
    let text = std::fs::read_to_string(&server).expect("template");
    std::fs::write(&server, format!("{text}\nnum.io.threads=not-a-number\n")).expect("break");
    let broken = run(&["up"]);
    assert!(
        !broken.status.success(),
        "up with a broken broker config must fail"
    );
    // Wait until the engine restarts the broker under its policy (polled, bounded).
    let started = Instant::now();
    loop {
        let kafka = kafka_container(rt, settings, engine);
        if kafka.state == "restarting" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the broker never restarted under its policy (state {})",
            kafka.state
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    std::fs::remove_dir_all(&templates).expect("back to the built-in templates");
    let fixed = run(&["up"]);
    let stderr = String::from_utf8_lossy(&fixed.stderr);
    assert!(
        fixed.status.success(),
        "up did not repair the stack: {stderr}"
    );
    assert!(!stderr.contains("already in use"), "{stderr}");
}
