//! Part of the end-to-end test: misconfigurations a user could make by editing the project's own
//! files (templates, compose file) and running `up`, each failing exactly the posture check that
//! covers it; the posture record holds no secret and a baseline comparison names the widening.

use std::path::Path;

use crate::Project;
use crate::e2e::{failed, run, set};

/// Replaces `from` with `to` in the project file `rel` (which must contain it); returns the
/// original text to put back.
fn edit(p: &Project, rel: &str, from: &str, to: &str) -> String {
    let path = p.path().join(rel);
    let text = std::fs::read_to_string(&path).expect("project file");
    assert!(text.contains(from), "{rel} lacks {from:?}");
    std::fs::write(&path, text.replace(from, to)).expect("write project file");
    text
}

fn put_back(p: &Project, rel: &str, text: &str) {
    std::fs::write(p.path().join(rel), text).expect("restore project file");
    let up = run(p, &["up"]);
    assert!(up.status.success(), "restoring up failed");
}

fn up_and_verify(p: &Project, baseline: &Path) -> std::process::Output {
    let up = run(p, &["up"]);
    assert!(up.status.success(), "up with the misconfiguration failed");
    run(
        p,
        &[
            "verify",
            "--format",
            "json",
            "--baseline",
            baseline.to_str().expect("utf8"),
        ],
    )
}

fn reason<'a>(report: &'a serde_json::Value, id: &str) -> &'a str {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["reason"].as_str())
        .unwrap_or("")
}

/// Verifies the clean stack, recording its posture to `record`: no check fails, no secret is in
/// the record, and it holds what phase 5 declares.
fn record_clean_posture(p: &Project, record: &Path) {
    // The project edits its own templates: copy them in (the binary falls back to its built-in
    // set only where the project has none).
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(crate::repo_root().join("templates"))
        .arg(p.path())
        .status()
        .expect("cp");
    assert!(status.success());
    let clean = run(
        p,
        &[
            "verify",
            "--format",
            "json",
            "--posture",
            record.to_str().expect("utf8"),
        ],
    );
    assert_eq!(failed(&clean), set(&[]));
    let text = std::fs::read_to_string(record).expect("posture record");
    for file in std::fs::read_dir(p.path().join("secrets")).expect("secrets") {
        let path = file.expect("entry").path();
        if path.extension().is_some_and(|e| e == "password") {
            let value = std::fs::read_to_string(&path).expect("secret");
            assert!(
                !text.contains(value.trim_end()),
                "a secret reached the posture record"
            );
        }
    }
    let posture: serde_json::Value = serde_json::from_str(&text).expect("record JSON");
    assert_eq!(posture["phase"], 5);
    assert_eq!(posture["super_users"], serde_json::json!(["User:admin"]));
    assert_eq!(
        posture["listeners"]["CONTROLLER"]["principals"],
        serde_json::json!(["admin"])
    );
    eprintln!(
        "posture record (abbreviated): {}",
        &text[..text.len().min(1500)]
    );
}

pub fn misconfigurations_fail_their_posture_check(p: &Project) {
    let record = p.path().join("posture.json");
    record_clean_posture(p, &record);

    // 1. A backdoor account in the broker's JAAS.
    let template = "templates/kafka/server.properties.j2";
    let original = edit(
        p,
        template,
        "{% for login in logins %}",
        " user_mallory=\"{{ kafka.app.password | jaas | properties }}\"{% for login in logins %}",
    );
    let broken = up_and_verify(p, &record);
    // The node's own posture sees it too: a single node is a node.
    assert_eq!(
        failed(&broken),
        set(&[
            "posture.kafka-principals",
            "posture.baseline",
            "cluster.nodes.posture"
        ])
    );
    let report: serde_json::Value = serde_json::from_slice(&broken.stdout).expect("json");
    assert!(reason(&report, "posture.kafka-principals").contains("mallory"));
    assert!(
        reason(&report, "posture.baseline").contains("new principal mallory"),
        "{}",
        reason(&report, "posture.baseline")
    );
    eprintln!(
        "baseline diff after one widening: {}",
        reason(&report, "posture.baseline")
    );
    put_back(p, template, &original);

    // 2. Connect's REST API published on every interface.
    let compose = "compose/docker-compose.yml";
    let original = edit(
        p,
        compose,
        "\"${STACKCTL_PUBLISH_ADDRESS}:${CONNECT_HOST_PORT}:${CONNECT_PORT}\"",
        "\"0.0.0.0:${CONNECT_HOST_PORT}:${CONNECT_PORT}\"",
    );
    let broken = up_and_verify(p, &record);
    assert_eq!(
        failed(&broken),
        set(&["posture.exposure", "posture.baseline"])
    );
    put_back(p, compose, &original);

    // 3. Schema Registry logging in to Kafka as admin.
    let template = "templates/schema-registry/application.properties.j2";
    let original = edit(
        p,
        template,
        "sasl_client(\"apicurio.kafka.common.\", kafka.schema_registry)",
        "sasl_client(\"apicurio.kafka.common.\", kafka.admin)",
    );
    let broken = up_and_verify(p, &record);
    assert_eq!(
        failed(&broken),
        set(&["posture.identities", "posture.baseline"])
    );
    put_back(p, template, &original);

    let after = run(
        p,
        &[
            "verify",
            "--format",
            "json",
            "--baseline",
            record.to_str().expect("utf8"),
        ],
    );
    assert_eq!(failed(&after), set(&[]));
}
