//! The posture comparisons on real files: the project's templates rendered with fixture secrets
//! and the project's compose file, each edited the way a misconfiguration would be, then parsed
//! with the same parsers the checks use on a running container's copy.

use std::path::Path;

use super::*;
use crate::engine::ContainerFacts;
use crate::render::{self, TemplateSet};
use crate::secrets::SecretSet;
use crate::settings::Phase;

fn fixture() -> (Settings, SecretSet) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let settings = Settings::load(root).expect("settings");
    let secrets = SecretSet::fixture(&settings.principals());
    (settings, secrets)
}

fn rendered(file: FileId) -> (Settings, String) {
    let (settings, secrets) = fixture();
    let plan =
        render::plan(&settings, &secrets, Phase::MAX, &TemplateSet::embedded()).expect("plan");
    let text = plan.contents(file).expect("file").to_string();
    (settings, text)
}

fn edited(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the rendered file lacks {from:?}");
    text.replace(from, to)
}

fn broker(text: &str) -> parse::BrokerConfig {
    parse::broker(&parse::properties(text.as_bytes()).expect("properties")).expect("broker")
}

#[test]
fn the_rendered_broker_has_exactly_the_declared_principals() {
    let (settings, text) = rendered(FileId::KafkaServer);
    assert!(listener_findings(&broker(&text), &declared_listeners(&settings)).is_empty());
    assert_eq!(
        super_user_finding(&broker(&text).super_users, "User:admin"),
        None
    );
}

#[test]
fn a_declared_listener_without_its_login_section_fails() {
    let (settings, text) = rendered(FileId::KafkaServer);
    let line = text
        .lines()
        .find(|l| l.starts_with("listener.name.external.plain.sasl.jaas.config="))
        .expect("the EXTERNAL login section");
    let without = text.replace(line, "");
    let found = listener_findings(&broker(&without), &declared_listeners(&settings));
    assert_eq!(
        found,
        [
            "listener EXTERNAL has no PLAIN login section (listener.name.external.plain.sasl.jaas.config), so whom it accepts cannot be read"
        ]
    );
    let no_listeners = edited(&text, "listeners=", "ignored.listeners=");
    let found = listener_findings(&broker(&no_listeners), &declared_listeners(&settings));
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(
        found.iter().all(|f| f.starts_with("declared listener ")),
        "{found:?}"
    );
}

#[test]
fn a_backdoor_jaas_user_is_named() {
    let (settings, text) = rendered(FileId::KafkaServer);
    let backdoor = edited(
        &text,
        "listener.name.external.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required",
        "listener.name.external.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_mallory=\"pw\"",
    );
    let found = listener_findings(&broker(&backdoor), &declared_listeners(&settings));
    assert_eq!(
        found,
        ["listener EXTERNAL accepts undeclared principal(s) [\"mallory\"]"]
    );
}

#[test]
fn widened_super_users_are_named() {
    let (_, text) = rendered(FileId::KafkaServer);
    let widened = edited(
        &text,
        "super.users=User:admin\n",
        "super.users=User:admin;User:app\n",
    );
    let found = super_user_finding(&broker(&widened).super_users, "User:admin").expect("a finding");
    assert!(found.contains("User:app"), "{found}");
}

#[test]
fn the_registry_logging_in_as_admin_is_seen() {
    let (settings, text) = rendered(FileId::SchemaRegistryConfig);
    let props = parse::properties(text.as_bytes()).expect("properties");
    assert_eq!(
        parse::client_user(&props, "apicurio.kafka.common.")
            .expect("jaas")
            .as_deref(),
        Some(settings.kafka_principal(KafkaRole::SchemaRegistry).user())
    );
    let as_admin = edited(&text, "username=\"schema_registry\"", "username=\"admin\"");
    let props = parse::properties(as_admin.as_bytes()).expect("properties");
    assert_eq!(
        parse::client_user(&props, "apicurio.kafka.common.")
            .expect("jaas")
            .as_deref(),
        Some("admin")
    );
}

#[test]
fn a_container_without_its_limits_is_named() {
    let (settings, _) = rendered(FileId::KafkaServer);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join(crate::compose::COMPOSE_FILE);
    let text = std::fs::read_to_string(&path).expect("compose file");
    // The clickhouse service's deploy block removed, as a user editing the compose file would.
    let start = text.find("    deploy:\n      resources:\n        limits:\n          cpus: \"${CLICKHOUSE_CPUS}\"").expect("clickhouse deploy");
    let end = start + text[start..].find("    networks:").expect("networks");
    let without = format!("{}{}", &text[..start], &text[end..]);
    let stack = crate::compose::parse(&without, &path, &settings, Phase::MAX).expect("compose");
    let limits = stack
        .service("clickhouse")
        .expect("clickhouse")
        .limits
        .clone();
    assert_eq!(limits, None);
    // What the engine then reports for the container it creates from that definition.
    let facts = ContainerFacts {
        image_id: "sha256:x".into(),
        nano_cpus: limits.as_ref().map(|l| l.nano_cpus),
        memory_bytes: limits.as_ref().map(|l| l.memory_bytes),
        restart: "unless-stopped".into(),
        published: Vec::new(),
    };
    let declared = &settings.services["clickhouse"].resources;
    let found = limit_finding("clickhouse", &facts, declared).expect("a finding");
    assert!(
        found.starts_with("clickhouse: cpus None, memory None"),
        "{found}"
    );
    let kafka = stack
        .service("kafka")
        .expect("kafka")
        .limits
        .clone()
        .expect("limits");
    let ok = ContainerFacts {
        nano_cpus: Some(kafka.nano_cpus),
        memory_bytes: Some(kafka.memory_bytes),
        ..facts
    };
    assert_eq!(
        limit_finding("kafka", &ok, &settings.services["kafka"].resources),
        None
    );
}
