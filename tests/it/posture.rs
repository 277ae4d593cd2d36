//! Part of the end-to-end test: misconfigurations a user could make by editing the project's own
//! files (templates, compose file) and running `up`, each failing exactly the posture check that
//! covers it; the posture record holds no secret and a baseline comparison names the widening.

use std::path::Path;

use crate::Project;
use crate::e2e::{failed, run, set};
use crate::e2e_fixture::check_reason as reason;

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

/// `verify --format json --baseline <baseline>`.
fn verify_against(p: &Project, baseline: &Path) -> std::process::Output {
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

/// One misconfiguration: replaces `from` with `to` in the project file `rel`, runs `up` and
/// verify against `baseline`, asserts that exactly the checks `failing` fail, and puts the file
/// back (with `up`). Returns verify's report.
fn misconfigured(
    p: &Project,
    baseline: &Path,
    rel: &str,
    (from, to): (&str, &str),
    failing: &[&str],
) -> serde_json::Value {
    let original = edit(p, rel, from, to);
    let up = run(p, &["up"]);
    assert!(up.status.success(), "up with the misconfiguration failed");
    let broken = verify_against(p, baseline);
    assert_eq!(failed(&broken), set(failing));
    put_back(p, rel, &original);
    serde_json::from_slice(&broken.stdout).expect("json")
}

/// Verifies the clean stack, recording its posture to `record`: no check fails, no secret is in
/// the record, and it holds what phase 5 declares.
fn record_clean_posture(p: &Project, record: &Path) {
    // The project edits its own templates: copy them in.
    p.copy_templates();
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
    let report = misconfigured(
        p,
        &record,
        "templates/kafka/server.properties.j2",
        (
            "{% for login in logins %}",
            " user_mallory=\"{{ kafka.app.password | jaas | properties }}\"{% for login in logins %}",
        ),
        // The node's own posture sees it too: a single node is a node.
        &[
            "posture.kafka-principals",
            "posture.baseline",
            "cluster.nodes.posture",
        ],
    );
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

    // 2. Connect's REST API published on every interface.
    misconfigured(
        p,
        &record,
        "compose/docker-compose.yml",
        (
            "\"${STACKCTL_PUBLISH_ADDRESS}:${CONNECT_HOST_PORT}:${CONNECT_PORT}\"",
            "\"0.0.0.0:${CONNECT_HOST_PORT}:${CONNECT_PORT}\"",
        ),
        &["posture.exposure", "posture.baseline"],
    );

    // 3. Schema Registry logging in to Kafka as admin.
    misconfigured(
        p,
        &record,
        "templates/schema-registry/application.properties.j2",
        (
            "sasl_client(\"apicurio.kafka.common.\", kafka.schema_registry)",
            "sasl_client(\"apicurio.kafka.common.\", kafka.admin)",
        ),
        &["posture.identities", "posture.baseline"],
    );

    let after = verify_against(p, &record);
    assert_eq!(failed(&after), set(&[]));
}
