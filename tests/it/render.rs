//! Snapshot tests of every rendered file for each phase, with fixed test secrets.

use std::fmt::Write as _;

use stackctl::render::{self, FileChange};

use crate::{fixed_secrets, repo_settings, secrets_with};

fn render_phase(phase: u8) -> String {
    let settings = repo_settings();
    let plan = crate::plan(&settings, &fixed_secrets(&settings), phase).expect("render");
    let mut out = String::new();
    for f in &plan.files {
        let _ = writeln!(
            out,
            "===== {} (service {}, mode {:04o}) =====",
            f.path.display(),
            f.service,
            f.mode()
        );
        out.push_str(&f.contents);
    }
    out
}

#[test]
fn phase_1_snapshot() {
    insta::assert_snapshot!("phase-1", render_phase(1));
}

#[test]
fn phase_2_snapshot() {
    insta::assert_snapshot!("phase-2", render_phase(2));
}

#[test]
fn phase_3_snapshot() {
    insta::assert_snapshot!("phase-3", render_phase(3));
}

#[test]
fn phase_4_snapshot() {
    insta::assert_snapshot!("phase-4", render_phase(4));
}

#[test]
fn phase_5_snapshot() {
    insta::assert_snapshot!("phase-5", render_phase(5));
}

#[test]
fn rendering_is_deterministic() {
    assert_eq!(render_phase(4), render_phase(4));
}

#[test]
fn phase_1_has_no_clickhouse_users_and_phase_2_does() {
    let settings = repo_settings();
    let secrets = fixed_secrets(&settings);
    let has_users = |phase| {
        crate::plan(&settings, &secrets, phase)
            .expect("render")
            .files
            .iter()
            .any(|f| f.path.ends_with("users.d/stackctl-users.xml"))
    };
    assert!(!has_users(1));
    assert!(has_users(2));
}

#[test]
fn no_plaintext_listener_and_sasl_on_controller_in_every_phase() {
    let settings = repo_settings();
    let secrets = fixed_secrets(&settings);
    for phase in 1..=4 {
        let plan = crate::plan(&settings, &secrets, phase).expect("render");
        let server = &plan
            .files
            .iter()
            .find(|f| f.path.ends_with("kafka/server.properties"))
            .expect("server.properties")
            .contents;
        let map = server
            .lines()
            .find(|l| l.starts_with("listener.security.protocol.map="))
            .expect("protocol map");
        assert_eq!(map.matches("SASL_PLAINTEXT").count(), 3, "{map}");
        assert!(!map.contains(":PLAINTEXT"), "{map}");
        assert!(server.contains("sasl.mechanism.controller.protocol=PLAIN\n"));
        assert_eq!(
            server.contains("auto.create.topics.enable=false\n"),
            phase >= 4,
            "phase {phase}"
        );
    }
}

#[test]
fn connector_config_holds_references_not_passwords() {
    let settings = repo_settings();
    let secrets = fixed_secrets(&settings);
    let writer = settings.clickhouse_principal(stackctl::settings::ClickHouseRole::Writer);
    let password = secrets.get(&writer).expect("writer").expose().to_string();
    let plan = crate::plan(&settings, &secrets, 4).expect("render");
    let connector = plan
        .files
        .iter()
        .find(|f| f.path.ends_with("clickhouse-sink.json"))
        .expect("connector");
    assert!(!connector.secret);
    assert_eq!(connector.contents.matches(&password).count(), 0);
    let json: serde_json::Value = serde_json::from_str(&connector.contents).expect("valid JSON");
    assert_eq!(
        json["clickhouse.password"],
        "${file:/etc/kafka-connect/secrets/clickhouse-writer.properties:password}"
    );
    assert_eq!(
        json["clickhouse.user"],
        "${file:/etc/kafka-connect/secrets/clickhouse-writer.properties:user}"
    );
    // Bad records go to the dead-letter topic with their reason; the task goes on.
    assert_eq!(json["errors.tolerance"], "all");
    assert_eq!(
        json["errors.deadletterqueue.topic.name"],
        settings.pipeline.dead_letter_topic.as_str()
    );
    assert_eq!(
        json["errors.deadletterqueue.context.headers.enable"],
        "true"
    );
    // The password lands in exactly one file a container mounts: the one FileConfigProvider
    // reads. Besides it, only the writer's own clickhouse-client config for people has it.
    let holders: Vec<_> = plan
        .files
        .iter()
        .filter(|f| f.contents.contains(&password))
        .map(|f| f.path.display().to_string())
        .collect();
    assert_eq!(
        holders,
        [
            "connect/secrets/clickhouse-writer.properties",
            "clients/clickhouse-writer.xml"
        ]
    );
    assert!(
        plan.files
            .iter()
            .filter(|f| f.contents.contains(&password))
            .all(|f| f.secret)
    );
}

#[test]
fn clickhouse_users_xml_is_well_formed_and_carries_hashes_only() {
    let settings = repo_settings();
    let secrets = secrets_with(
        &settings,
        &[(
            "clickhouse-writer",
            "Wr1ter<&\"'>Pass-0123456789abcdefghijkl",
        )],
    );
    let plan = crate::plan(&settings, &secrets, 2).expect("render");
    let xml = &plan
        .files
        .iter()
        .find(|f| f.path.ends_with("stackctl-users.xml"))
        .expect("users xml")
        .contents;
    assert!(!xml.contains("Wr1ter"));
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut hashes = 0;
    let mut in_hash = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) if e.name().as_ref() == "password_sha256_hex" => {
                in_hash = true;
            }
            quick_xml::events::Event::Text(t) if in_hash => {
                let text = t.into_inner().to_string();
                assert_eq!(text.len(), 64);
                assert!(text.chars().all(|c| c.is_ascii_hexdigit()));
                hashes += 1;
                in_hash = false;
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(hashes, 3);
}

#[test]
fn write_rewrites_only_changed_files_and_removes_stale_ones() {
    let settings = repo_settings();
    let dir = tempfile::tempdir().expect("tempdir");
    let secrets = fixed_secrets(&settings);
    let first = render::write(
        &crate::plan(&settings, &secrets, 2).expect("plan"),
        dir.path(),
    )
    .expect("write");
    assert!(first.files.iter().all(|f| f.change == FileChange::Created));
    let again = render::write(
        &crate::plan(&settings, &secrets, 2).expect("plan"),
        dir.path(),
    )
    .expect("write");
    assert!(
        again
            .files
            .iter()
            .all(|f| f.change == FileChange::Unchanged)
    );
    assert!(again.changed_services().is_empty());

    let rotated = secrets_with(
        &settings,
        &[("kafka-app", "a-rotated-app-secret-0123456789abcdefghij")],
    );
    let after = render::write(
        &crate::plan(&settings, &rotated, 2).expect("plan"),
        dir.path(),
    )
    .expect("write");
    let changed: Vec<_> = after.changed_services().into_iter().collect();
    assert_eq!(changed, ["clients", "kafka"]);

    let down = render::write(
        &crate::plan(&settings, &rotated, 1).expect("plan"),
        dir.path(),
    )
    .expect("write");
    let removed: Vec<_> = down
        .files
        .iter()
        .filter(|f| f.change == FileChange::Removed)
        .map(|f| f.path.display().to_string())
        .collect();
    assert_eq!(
        removed,
        [
            "connect/secrets/clickhouse-writer.properties",
            "clickhouse/users.d/stackctl-users.xml",
            "clients/clickhouse-admin.xml",
            "clients/clickhouse-writer.xml",
            "clients/clickhouse-readonly.xml"
        ]
    );
    assert!(
        !dir.path()
            .join("clickhouse/users.d/stackctl-users.xml")
            .exists()
    );
}

#[test]
fn a_phase_change_rewrites_only_the_files_it_changes() {
    let settings = repo_settings();
    let secrets = fixed_secrets(&settings);
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |phase| {
        render::write(
            &crate::plan(&settings, &secrets, phase).expect("plan"),
            dir.path(),
        )
        .expect("write")
        .changed_services()
        .into_iter()
        .collect::<Vec<_>>()
    };
    write(1);
    assert_eq!(write(2), ["clickhouse", "clients", "connect"]);
    assert!(write(3).is_empty());
    assert_eq!(write(4), ["kafka", "schema-registry"]);
}

#[test]
fn clickhouse_client_configs_are_well_formed_and_carry_the_password() {
    let settings = repo_settings();
    let password = "Wr1ter<&\"'>Pass--0123456789abcdefghijkl";
    let secrets = secrets_with(&settings, &[("clickhouse-writer", password)]);
    let plan = crate::plan(&settings, &secrets, 2).expect("render");
    let xml = &plan
        .files
        .iter()
        .find(|f| f.path.ends_with("clients/clickhouse-writer.xml"))
        .expect("client xml")
        .contents;
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().expect("well-formed XML") {
            // XML forbids `--` inside a comment; clickhouse-client's parser refuses the file.
            quick_xml::events::Event::Comment(c) => {
                assert!(!c.into_inner().contains("--"));
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    let raw = xml
        .split_once("<password>")
        .and_then(|(_, rest)| rest.split_once("</password>"))
        .map(|(value, _)| value)
        .expect("a password element");
    assert_eq!(
        quick_xml::escape::unescape(raw).expect("unescape"),
        password
    );
    assert!(xml.contains(&format!(
        "<port>{}</port>",
        settings.clickhouse.host_native_port
    )));
}
