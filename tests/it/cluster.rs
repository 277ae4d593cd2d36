//! The three-node cluster from the same settings: per-node rendered files (snapshot), the compose
//! model's one service per node, every client bootstrapping from every node, and the render
//! directory following a node-count change.

use std::fmt::Write as _;
use std::path::Path;

use stackctl::compose;
use stackctl::render::{self, FileChange, FileId};
use stackctl::settings::{Phase, ServiceKind, Settings};

use crate::{fixed_secrets, repo_root};

/// The repo's settings with `kafka.brokers: 3`, RF 3 and min ISR 2.
pub fn three_node_settings() -> Settings {
    let text = std::fs::read_to_string(repo_root().join("configs/stack.yaml")).expect("settings");
    let text = text
        .replace("  brokers: 1\n", "  brokers: 3\n")
        .replace("replication_factor: 1\n", "replication_factor: 3\n")
        .replace("min_insync_replicas: 1\n", "min_insync_replicas: 2\n");
    Settings::parse(&text, Path::new("stack.yaml")).expect("3-node settings are valid")
}

fn render_files(settings: &Settings, phase: u8, filter: impl Fn(&Path) -> bool) -> String {
    let plan = crate::plan(settings, &fixed_secrets(settings), phase).expect("render");
    let mut out = String::new();
    for f in plan.files.iter().filter(|f| filter(&f.path)) {
        let _ = writeln!(
            out,
            "===== {} (service {}, node {:?}) =====",
            f.path.display(),
            f.service,
            f.node
        );
        out.push_str(&f.contents);
    }
    out
}

#[test]
fn three_node_server_properties_snapshot() {
    let settings = three_node_settings();
    insta::assert_snapshot!(
        "cluster-3-phase-5-kafka",
        render_files(&settings, 5, |p| p.starts_with("kafka"))
    );
}

#[test]
fn every_client_config_bootstraps_from_every_node() {
    let settings = three_node_settings();
    let plan = crate::plan(&settings, &fixed_secrets(&settings), 5).expect("render");
    let mut seen = 0;
    for f in &plan.files {
        for line in f.contents.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            if !key.ends_with("bootstrap.servers") {
                continue;
            }
            seen += 1;
            let expected = if f.path.starts_with("clients") {
                "localhost:19092,localhost:19093,localhost:19094"
            } else {
                "kafka-1:9092,kafka-2:9092,kafka-3:9092"
            };
            assert_eq!(value, expected, "{}", f.path.display());
        }
    }
    // Connect's worker, the registry and the four kcat configs.
    assert_eq!(seen, 6);
}

#[test]
fn compose_model_has_one_service_per_node_from_the_one_definition() {
    let settings = three_node_settings();
    let path = repo_root().join(compose::COMPOSE_FILE);
    let text = std::fs::read_to_string(&path).expect("compose file");
    let stack = compose::parse(&text, &path, &settings, Phase::Authorization).expect("parse");
    let nodes = stack.services_of(ServiceKind::Kafka);
    let got: Vec<(&str, Option<u16>, u16, &str)> = nodes
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.node,
                s.ports[0].host_port,
                s.volumes[0].volume.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("kafka-1", Some(0), 19092, "kafka-1-data"),
            ("kafka-2", Some(1), 19093, "kafka-2-data"),
            ("kafka-3", Some(2), 19094, "kafka-3-data"),
        ]
    );
    assert!(stack.service("kafka").is_none());
    assert!(!stack.volumes.iter().any(|v| v == "kafka-data"));
    for dependent in ["connect", "schema-registry"] {
        let deps = &stack.service(dependent).expect(dependent).depends_on;
        for node in ["kafka-1", "kafka-2", "kafka-3"] {
            assert!(
                deps.iter().any(|d| d == node),
                "{dependent} waits for {node}"
            );
        }
    }
    // Each node mounts its own server.properties (its node.id), the same health-check login.
    let plan = crate::plan(&settings, &fixed_secrets(&settings), 5).expect("render");
    for node in nodes {
        let server = plan
            .contents_on(FileId::KafkaServer, node.node)
            .expect("server.properties");
        let id = u32::from(node.node.expect("a node")) + 1;
        assert!(
            server.contains(&format!("\nnode.id={id}\n")),
            "{}",
            node.name
        );
        assert!(server.contains(&format!("INTERNAL://{}:9092", node.name)));
        assert_eq!(
            plan.contents_on(FileId::KafkaHealthcheck, node.node).ok(),
            plan.contents(FileId::KafkaHealthcheck).ok()
        );
    }
}

#[test]
fn the_render_directory_follows_a_node_count_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let one = crate::repo_settings();
    let three = three_node_settings();
    let write = |s: &Settings| {
        render::write(
            &crate::plan(s, &fixed_secrets(s), 5).expect("render"),
            dir.path(),
        )
        .expect("write")
    };
    let removed = |r: &render::WriteReport| -> Vec<String> {
        r.files
            .iter()
            .filter(|f| f.change == FileChange::Removed)
            .map(|f| f.path.display().to_string())
            .collect()
    };
    write(&one);
    let grown = write(&three);
    assert_eq!(removed(&grown), ["kafka/server.properties"]);
    let shrunk = write(&one);
    assert_eq!(
        removed(&shrunk),
        [
            "kafka/kafka-1/server.properties",
            "kafka/kafka-2/server.properties",
            "kafka/kafka-3/server.properties"
        ]
    );
}
