//! `${VAR}` interpolation for the compose file, with values derived from the stack settings, so
//! that a port or an image is written once (in configs/stack.yaml).

use std::collections::BTreeMap;

use crate::render::RENDER_DIR;
use crate::settings::Settings;

/// The variable that names the render directory in the compose file's `secrets:`.
pub const RENDERED_VAR: &str = "STACKCTL_RENDERED";

/// The render directory relative to the compose file (`compose/` sits beside `.stackctl/`).
pub fn rendered_dir_from_compose() -> String {
    format!("../{RENDER_DIR}")
}

/// The variables the compose file may use, derived from the settings.
pub fn variables(settings: &Settings) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    let mut set = |k: &str, val: String| {
        v.insert(k.to_string(), val);
    };
    set("STACKCTL_PROJECT", settings.project.clone());
    set(RENDERED_VAR, rendered_dir_from_compose());
    set("KAFKA_VERSION", settings.kafka.version.clone());
    set("KAFKA_CLUSTER_ID", settings.kafka.cluster_id.clone());
    set("KAFKA_HOST_PORT", settings.kafka.host_port.to_string());
    set(
        "KAFKA_EXTERNAL_PORT",
        settings.kafka.listeners.external.to_string(),
    );
    set(
        "SCHEMA_REGISTRY_PORT",
        settings.schema_registry.port.to_string(),
    );
    set(
        "SCHEMA_REGISTRY_HOST_PORT",
        settings.schema_registry.host_port.to_string(),
    );
    set("CONNECT_PORT", settings.connect.port.to_string());
    set("CONNECT_HOST_PORT", settings.connect.host_port.to_string());
    set(
        "CLICKHOUSE_HTTP_PORT",
        settings.clickhouse.http_port.to_string(),
    );
    set(
        "CLICKHOUSE_HOST_HTTP_PORT",
        settings.clickhouse.host_http_port.to_string(),
    );
    for (name, service) in &settings.services {
        let key = name.to_ascii_uppercase().replace('-', "_");
        set(&format!("{key}_IMAGE"), service.image.clone());
        set(&format!("{key}_CPUS"), service.resources.cpus.to_string());
        set(
            &format!("{key}_MEMORY"),
            format!("{}m", service.resources.memory_mb),
        );
    }
    v
}

/// Replaces `${NAME}` and `${NAME:-default}`; `$$` is a literal `$`. An unknown name is an error
/// naming it and its line.
pub fn interpolate(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split_inclusive('\n').enumerate() {
        // Comments are copied as they are: they may mention ${VAR} in prose.
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                out.push('$');
                rest = tail;
            } else if let Some(body) = after.strip_prefix('{') {
                let end = body
                    .find('}')
                    .ok_or_else(|| format!("line {}: unterminated `${{`", n + 1))?;
                let expr = &body[..end];
                let (name, default) = match expr.split_once(":-") {
                    Some((name, default)) => (name, Some(default)),
                    None => (expr, None),
                };
                match (vars.get(name), default) {
                    (Some(value), _) => out.push_str(value),
                    (None, Some(default)) => out.push_str(default),
                    (None, None) => {
                        return Err(format!(
                            "line {}: unknown variable `${{{name}}}`; known: {}",
                            n + 1,
                            vars.keys().cloned().collect::<Vec<_>>().join(", ")
                        ));
                    }
                }
                rest = &body[end + 1..];
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_defaults_and_escapes() {
        let vars = BTreeMap::from([("A".to_string(), "1".to_string())]);
        assert_eq!(
            interpolate("x: ${A} ${B:-2} $$ $", &vars).expect("ok"),
            "x: 1 2 $ $"
        );
        assert!(
            interpolate("x: ${NOPE}", &vars)
                .unwrap_err()
                .contains("NOPE")
        );
        assert_eq!(
            interpolate("# ${NOPE}\n", &vars).expect("ok"),
            "# ${NOPE}\n"
        );
    }
}
