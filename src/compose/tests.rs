//! Unit tests of the compose model against the project's own compose file.

use super::*;

fn repo() -> (Settings, String, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let settings = Settings::load(root).expect("settings");
    let path = root.join(COMPOSE_FILE);
    let text = std::fs::read_to_string(&path).expect("compose file");
    (settings, text, path)
}

#[test]
fn start_order_puts_kafka_and_clickhouse_first() {
    let (settings, text, path) = repo();
    let stack = parse(&text, &path, &settings, Phase::Hardening).expect("parse");
    let waves: Vec<Vec<&str>> = stack
        .start_waves()
        .iter()
        .map(|w| w.iter().map(|s| s.name.as_str()).collect())
        .collect();
    assert_eq!(
        waves,
        vec![
            vec!["clickhouse", "kafka"],
            vec!["connect", "schema-registry"]
        ]
    );
}

#[test]
fn phase_decides_mounted_files_and_limits() {
    let (settings, text, path) = repo();
    let p1 = parse(&text, &path, &settings, Phase::KafkaAuth).expect("parse");
    let p4 = parse(&text, &path, &settings, Phase::Hardening).expect("parse");
    let files = |s: &Stack| s.service("clickhouse").map_or(0, |c| c.files.len());
    assert_eq!(files(&p1), 2, "no users.d before phase 2");
    assert_eq!(files(&p4), 3);
    assert!(p1.services.iter().all(|s| s.limits.is_none()));
    assert!(p4.services.iter().all(|s| s.limits.is_some()));
    let kafka = p4.service("kafka").expect("kafka");
    assert_eq!(
        kafka.limits.as_ref().map(|l| l.memory_bytes),
        Some(1024 << 20)
    );
    assert_eq!(kafka.ports[0].host_ip, "127.0.0.1");
    assert_eq!(kafka.restart, Some(RestartPolicy::UnlessStopped));
    assert_eq!(kafka.files[0].mode, 0o400);
    // Every container's log is rotated as the settings say (default json-file, 10m x 3).
    for s in &p1.services {
        let l = s.logging.as_ref().expect("logging");
        assert_eq!(l.driver, "json-file", "{}", s.name);
        assert_eq!(l.options.get("max-size").map(String::as_str), Some("10m"));
        assert_eq!(l.options.get("max-file").map(String::as_str), Some("3"));
    }
}

#[test]
fn unsupported_keys_are_refused_by_name() {
    let (settings, text, path) = repo();
    let text = text.replacen(
        "    command: [\"broker\"]\n",
        "    command: [\"broker\"]\n    privileged: true\n",
        1,
    );
    let err = parse(&text, &path, &settings, Phase::Hardening)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("services.kafka.privileged: unknown field `privileged`"),
        "{err}"
    );
}

#[test]
fn user_extensions_are_allowed_and_readable_modes_refused() {
    let (settings, text, path) = repo();
    let with_ext = text.replacen("services:\n", "x-note: {a: 1}\nservices:\n", 1);
    assert!(parse(&with_ext, &path, &settings, Phase::Hardening).is_ok());
    let open = text.replacen("mode: 0400", "mode: 0444", 1);
    let err = parse(&open, &path, &settings, Phase::Hardening)
        .unwrap_err()
        .to_string();
    assert!(err.contains("readable by group or others"), "{err}");
}

#[test]
fn mounts_come_from_the_render_layout() {
    let (settings, text, path) = repo();
    let stray = text.replacen(
        "${STACKCTL_RENDERED}/kafka/server.properties",
        "${STACKCTL_RENDERED}/kafka/other.properties",
        1,
    );
    let err = parse(&stray, &path, &settings, Phase::Hardening)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("secrets.kafka_server.file: `../.stackctl/rendered/kafka/other.properties` is not a file stackctl renders"),
        "{err}"
    );
    let old = text.replacen("services:\n", "x-stackctl-limits-phase: 4\nservices:\n", 1);
    let err = parse(&old, &path, &settings, Phase::Hardening)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`x-stackctl-limits-phase` is no longer read"),
        "{err}"
    );
}
