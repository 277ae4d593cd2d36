//! Reading the files a running service actually uses, with real parsers: Java `.properties`
//! (java-properties), JAAS option lists, ClickHouse users XML (quick-xml). Only names and settings
//! come out — never a password.

use std::collections::{BTreeMap, BTreeSet};

use quick_xml::Reader;
use quick_xml::events::Event;
use serde::Serialize;

/// A `.properties` file, as Java reads it.
pub fn properties(bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
    java_properties::read(bytes)
        .map(|m| m.into_iter().collect())
        .map_err(|e| e.to_string())
}

/// The option names and values of a JAAS login module entry
/// (`Module required key="value" key2="value2";`), JAAS-unescaped.
pub fn jaas_options(config: &str) -> Result<BTreeMap<String, String>, String> {
    let mut options = BTreeMap::new();
    let mut rest = config.trim();
    // Skip the module class and the control flag.
    for _ in 0..2 {
        let end = rest.find(char::is_whitespace).ok_or("no control flag")?;
        rest = rest[end..].trim_start();
    }
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with(';') {
            return Ok(options);
        }
        let eq = rest.find('=').ok_or("an option without `=`")?;
        let key = rest[..eq].trim().to_string();
        rest = rest[eq + 1..].trim_start();
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let end = end.ok_or("an unterminated quoted value")?;
            rest = &quoted[end + 1..];
            value
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == ';')
                .unwrap_or(rest.len());
            let value = rest[..end].to_string();
            rest = &rest[end..];
            value
        };
        options.insert(key, value);
    }
}

/// The users a PlainLoginModule server entry accepts (`user_<name>` options): names only.
pub fn plain_users(config: &str) -> Result<BTreeSet<String>, String> {
    Ok(jaas_options(config)?
        .into_keys()
        .filter_map(|k| k.strip_prefix("user_").map(str::to_string))
        .collect())
}

/// One listener of the broker, as its server.properties defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listener {
    pub protocol: String,
    /// Users its SASL/PLAIN login accepts (empty for a listener without SASL).
    pub principals: BTreeSet<String>,
}

/// The broker's listeners and super users from its server.properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokerConfig {
    pub listeners: BTreeMap<String, Listener>,
    pub super_users: BTreeSet<String>,
}

pub fn broker(props: &BTreeMap<String, String>) -> Result<BrokerConfig, String> {
    let protocols: BTreeMap<String, String> = props
        .get("listener.security.protocol.map")
        .map(|m| {
            m.split(',')
                .filter_map(|pair| pair.split_once(':'))
                .map(|(l, p)| (l.trim().to_string(), p.trim().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut listeners = BTreeMap::new();
    for entry in props.get("listeners").map_or("", String::as_str).split(',') {
        let Some((name, _)) = entry.trim().split_once("://") else {
            continue;
        };
        let protocol = protocols
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string());
        let key = format!(
            "listener.name.{}.plain.sasl.jaas.config",
            name.to_ascii_lowercase()
        );
        let principals = match props.get(&key) {
            Some(jaas) => plain_users(jaas).map_err(|e| format!("{key}: {e}"))?,
            None => BTreeSet::new(),
        };
        listeners.insert(
            name.to_string(),
            Listener {
                protocol,
                principals,
            },
        );
    }
    let super_users = props
        .get("super.users")
        .map(|s| {
            s.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(BrokerConfig {
        listeners,
        super_users,
    })
}

/// The Kafka username a client logs in as, from `<prefix>sasl.jaas.config` (None: no login).
pub fn client_user(
    props: &BTreeMap<String, String>,
    prefix: &str,
) -> Result<Option<String>, String> {
    match props.get(&format!("{prefix}sasl.jaas.config")) {
        Some(jaas) => Ok(jaas_options(jaas)?.remove("username")),
        None => Ok(None),
    }
}

/// A ClickHouse user as its users XML defines it (no password, no hash).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClickHouseUser {
    pub profile: Option<String>,
    pub grants: Vec<String>,
    pub allow_databases: Vec<String>,
}

/// Applies one users XML file (the package's users.xml first, then each users.d file) to `users`:
/// a user element replaces or extends one of the same name; `remove="remove"` deletes it.
pub fn apply_users_xml(
    users: &mut BTreeMap<String, ClickHouseUser>,
    xml: &str,
) -> Result<(), String> {
    let mut reader = Reader::from_str(xml);
    // Path of open elements below the root.
    let mut path: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut text_target: Option<&'static str> = None;
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.name().as_ref().to_string();
                let is_empty = matches!(event, Event::Empty(_));
                let removed = e.attributes().flatten().any(|a| {
                    a.key.as_ref() == "remove"
                        && matches!(a.value.as_ref(), "remove" | "1" | "true")
                });
                let depth = path.len();
                // <root><users><NAME>…
                if depth == 2 && path[1] == "users" {
                    if removed {
                        users.remove(&name);
                    } else {
                        users.entry(name.clone()).or_default();
                        current = (!is_empty).then(|| name.clone());
                    }
                }
                text_target = match (current.is_some(), depth, name.as_str()) {
                    (true, 3, "profile") => Some("profile"),
                    (true, 4, "query") if path.get(3).map(String::as_str) == Some("grants") => {
                        Some("grant")
                    }
                    (true, 4, "database")
                        if path.get(3).map(String::as_str) == Some("allow_databases") =>
                    {
                        Some("database")
                    }
                    _ => None,
                };
                if !is_empty {
                    path.push(name);
                }
            }
            Event::Text(t) => {
                if let (Some(user), Some(target)) = (&current, text_target) {
                    let text = AsRef::<str>::as_ref(&t).trim().to_string();
                    if let Some(u) = users.get_mut(user) {
                        match target {
                            "profile" => u.profile = Some(text),
                            "grant" => u.grants.push(text),
                            _ => u.allow_databases.push(text),
                        }
                    }
                }
            }
            Event::End(_) => {
                path.pop();
                text_target = None;
                if path.len() <= 2 {
                    current = None;
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaas_options_unescape_and_users_are_names_only() {
        let jaas = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="p\"w\\d" user_admin="x" user_app="y z";"#;
        let options = jaas_options(jaas).expect("parse");
        assert_eq!(options["password"], r#"p"w\d"#);
        assert_eq!(options["username"], "admin");
        let users = plain_users(jaas).expect("users");
        assert_eq!(
            users,
            BTreeSet::from(["admin".to_string(), "app".to_string()])
        );
        assert!(jaas_options(r#"M required a="unterminated"#).is_err());
    }

    #[test]
    fn users_xml_applies_remove_and_replace() {
        let package = "<yandex><users><default><profile>default</profile></default><readonly><profile>readonly</profile></readonly></users></yandex>";
        let ours = r#"<yandex><users><default remove="remove"/><writer replace="replace"><profile>stackctl_writer</profile><allow_databases><database>demo</database></allow_databases></writer></users></yandex>"#;
        let mut users = BTreeMap::new();
        apply_users_xml(&mut users, package).expect("package");
        apply_users_xml(&mut users, ours).expect("ours");
        assert_eq!(users.keys().collect::<Vec<_>>(), ["readonly", "writer"]);
        assert_eq!(users["writer"].profile.as_deref(), Some("stackctl_writer"));
        assert_eq!(users["writer"].allow_databases, ["demo"]);
    }
}
