//! Hostile passwords survive rendering: the files are parsed back with real parsers (a Java
//! .properties reader; the JVM itself for Kafka's and Connect's exact loading path) and yield the
//! very same password.

use proptest::prelude::*;
use stackctl::render::{self, escape};

use crate::{repo_root, repo_settings, secrets_with};

/// Characters that break naive templating in at least one of the target formats. (Characters
/// outside the BMP become surrogate pairs, which the `java_properties` crate cannot decode; the JVM
/// test below covers them.)
const HOSTILE: &[&str] = &[
    "\"",
    "\\",
    "$",
    ";",
    "=",
    ":",
    "#",
    "!",
    "<",
    ">",
    "&",
    "'",
    " ",
    "\t",
    "é",
    "ß",
    "€",
    "ы",
    "${file:x}",
    "\\u0041",
    "\\\"",
    "user_admin=\"x\"",
    "};",
    "/*",
    "//",
    "%s",
];

fn hostile_password() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            prop_oneof![
                prop::sample::select(HOSTILE).prop_map(str::to_string),
                "[A-Za-z0-9]{1,4}",
            ],
            8..24,
        ),
        any::<bool>(),
    )
        .prop_map(|(parts, leading_space)| {
            let mut s = if leading_space {
                " ".to_string()
            } else {
                String::new()
            };
            s.push_str(&parts.concat());
            // Keep it long enough to be a valid secret.
            while s.chars().count() < 32 {
                s.push('x');
            }
            s
        })
}

/// The option value of `key` in a JAAS config, read the way java.io.StreamTokenizer reads a quoted
/// string (backslash escapes the next character).
fn jaas_option(config: &str, key: &str) -> Option<String> {
    let needle = format!(" {key}=\"");
    let start = config.find(&needle)? + needle.len();
    let mut out = String::new();
    let mut chars = config[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return Some(out),
            _ => out.push(c),
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn kafka_password_round_trips_through_properties_and_jaas(pw in hostile_password()) {
        let settings = repo_settings();
        let secrets = secrets_with(&settings, &[("kafka-app", &pw)]);
        let plan = crate::plan(&settings, &secrets, 4).expect("render");
        for file in ["kafka/server.properties", "clients/app.properties"] {
            let text = &plan.files.iter().find(|f| f.path.ends_with(file)).expect("file").contents;
            prop_assert!(text.is_ascii(), "{file} must be ASCII for ISO-8859-1 readers");
            let props = java_properties::read(text.as_bytes()).expect("parses as .properties");
            let key = if file.starts_with("kafka/") {
                "listener.name.internal.plain.sasl.jaas.config"
            } else {
                "sasl.jaas.config"
            };
            let jaas = props.get(key).expect("jaas key present");
            let option = if file.starts_with("kafka/") { "user_app" } else { "password" };
            let parsed = jaas_option(jaas, option);
            prop_assert_eq!(parsed.as_deref(), Some(pw.as_str()));
        }
    }

    #[test]
    fn clickhouse_writer_password_round_trips_through_connect_secrets(pw in "[!-~]{32,48}") {
        let settings = repo_settings();
        let secrets = secrets_with(&settings, &[("clickhouse-writer", &pw)]);
        let plan = crate::plan(&settings, &secrets, 3).expect("render");
        let text = &plan.files.iter()
            .find(|f| f.path.ends_with("clickhouse-writer.properties")).expect("file").contents;
        let props = java_properties::read(text.as_bytes()).expect("parses");
        prop_assert_eq!(props.get("password"), Some(&pw));
    }
}

#[test]
fn line_breaks_in_a_secret_are_refused_by_rendering() {
    let settings = repo_settings();
    let secrets = secrets_with(
        &settings,
        &[("kafka-app", "first-line-0123456789abcdef\nsecond")],
    );
    let err = crate::plan(&settings, &secrets, 1).expect_err("must refuse");
    let message = err.to_string();
    assert!(message.contains("line break"), "{message}");
    assert!(
        !message.contains("first-line"),
        "no secret in the message: {message}"
    );
    assert!(escape::jaas("a\r").is_err());
}

/// The JVM reads what we wrote: Properties.load as Kafka and Connect call it, and a StreamTokenizer
/// configured like Kafka's JaasConfig. Needs a JDK (`java` on PATH); .ci/run installs one.
#[test]
fn jvm_reads_back_hostile_passwords() {
    let settings = repo_settings();
    let cases: Vec<(String, String)> = [
        r#" lead"quote\back$dollar;semi=eq:colon#hash!bang<lt>gt&amp'"#,
        r#"\u0041not-an-escape\\double\"quoted"é€😀ß end "#,
        "user_admin=\"x\"; org.apache.Fake required 0123456789ab",
        "/* comment */ // slash-slash 0123456789abcdefghij",
    ]
    .iter()
    .enumerate()
    .map(|(i, kafka)| {
        let ch = format!("Ch{i}!\"#$%&'()*+,-./:;<=>?@[\\]^_`{{|}}~0123456789");
        (kafka.to_string(), ch)
    })
    .collect();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut dirs = Vec::new();
    for (i, (kafka, ch)) in cases.iter().enumerate() {
        let secrets = secrets_with(
            &settings,
            &[("kafka-app", kafka), ("clickhouse-writer", ch)],
        );
        let dir = tmp.path().join(i.to_string());
        render::write(&crate::plan(&settings, &secrets, 4).expect("render"), &dir).expect("write");
        dirs.push(dir);
    }
    let out = std::process::Command::new("java")
        .arg(repo_root().join("tests/java/RoundTrip.java"))
        .args(&dirs)
        .output()
        .expect("`java` must be on PATH (install a JDK: apt-get install default-jdk-headless)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), cases.len());
    for ((kafka, ch), line) in cases.iter().zip(lines) {
        assert_eq!(line, format!("{} {}", hex::encode(kafka), hex::encode(ch)));
    }
}
