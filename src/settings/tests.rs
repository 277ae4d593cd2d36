use super::*;

fn repo_settings_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SETTINGS_FILE))
        .expect("repo settings readable")
}

#[test]
fn repo_settings_are_valid() {
    let s = Settings::parse(&repo_settings_text(), Path::new("stack.yaml")).expect("valid");
    assert_eq!(s.principals().len(), 9);
    assert!(!s.clickhouse_supports_xml_grants());
}

#[test]
fn unknown_key_is_rejected_with_its_name() {
    let text = repo_settings_text().replace("node_id: 1", "node_id: 1\n  nodeid: 2");
    let err = Settings::parse(&text, Path::new("stack.yaml")).unwrap_err();
    assert!(
        err.to_string().contains("kafka: unknown field `nodeid`"),
        "{err}"
    );
}

#[test]
fn replication_factor_above_broker_count_is_rejected() {
    let text = repo_settings_text().replace("replication_factor: 1", "replication_factor: 3");
    let err = Settings::parse(&text, Path::new("stack.yaml")).unwrap_err();
    assert!(err.to_string().contains("replication_factor"), "{err}");
}

#[test]
fn partitions_and_node_id_beyond_int32_are_rejected() {
    for (from, to, setting) in [
        (
            "partitions: 3",
            "partitions: 2147483648",
            "pipeline.partitions",
        ),
        ("node_id: 1", "node_id: 2147483648", "kafka.node_id"),
    ] {
        let text = repo_settings_text().replacen(from, to, 1);
        let err = Settings::parse(&text, Path::new("stack.yaml")).unwrap_err();
        assert!(
            err.to_string().contains(setting) && err.to_string().contains("2147483647"),
            "{err}"
        );
    }
}

#[test]
fn duplicate_principal_names_are_rejected() {
    let text = repo_settings_text().replace("app: app", "app: connect");
    let err = Settings::parse(&text, Path::new("stack.yaml")).unwrap_err();
    assert!(err.to_string().contains("kafka-connect"), "{err}");
}

#[test]
fn version_gates_xml_grants() {
    let text = repo_settings_text().replace("version: \"18.16\"", "version: \"24.8\"");
    let s = Settings::parse(&text, Path::new("stack.yaml")).expect("valid");
    assert!(s.clickhouse_supports_xml_grants());
}
