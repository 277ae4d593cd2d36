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
    set(
        "STACKCTL_PUBLISH_ADDRESS",
        settings.publish_address.to_string(),
    );
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
    set(
        "CLICKHOUSE_NATIVE_PORT",
        settings.clickhouse.native_port.to_string(),
    );
    set(
        "CLICKHOUSE_HOST_NATIVE_PORT",
        settings.clickhouse.host_native_port.to_string(),
    );
    set("LOG_DRIVER", settings.logging.driver.clone());
    set("LOG_MAX_SIZE", settings.logging.max_size.clone());
    set("LOG_MAX_FILE", settings.logging.max_file.to_string());
    for (name, service) in &settings.services {
        let key = name.to_ascii_uppercase().replace('-', "_");
        set(&format!("{key}_IMAGE"), service.image.clone());
        set(&format!("{key}_CPUS"), service.resources.cpus.to_string());
        set(
            &format!("{key}_RESTART"),
            service.restart.as_str().to_string(),
        );
        set(
            &format!("{key}_MEMORY"),
            format!("{}m", service.resources.memory_mb),
        );
    }
    v
}

/// Replaces `${NAME}` and `${NAME:-default}` (the default also when NAME is empty, as in Compose);
/// `$$` is a literal `$`, and so is a `$` followed by anything that cannot start a variable. An
/// unknown name is an error naming it and its line.
///
/// Every other form Compose would substitute (`$NAME`, `${NAME-default}`, `${NAME:?err}`,
/// `${NAME?err}`, `${NAME:+alt}`, `${NAME+alt}`, a `$` inside a default, an invalid name) is
/// refused with its line and text, rather than left in place or read differently from Compose.
pub fn interpolate(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split_inclusive('\n').enumerate() {
        // Comments are copied as they are: they may mention ${VAR} in prose.
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let line_no = n + 1;
        let mut rest = line;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                out.push('$');
                rest = tail;
            } else if let Some(body) = after.strip_prefix('{') {
                let end = body.find('}').ok_or_else(|| {
                    format!(
                        "line {line_no}: unterminated `${{` in `{}`; close it with `}}`, or write `$${{` for a literal `${{`",
                        rest[i..].trim_end()
                    )
                })?;
                let expr = &body[..end];
                let (name, default) =
                    braced(expr).map_err(|why| refusal(line_no, &format!("${{{expr}}}"), why))?;
                match (vars.get(name), default) {
                    (Some(value), Some(default)) if value.is_empty() => out.push_str(default),
                    (Some(value), _) => out.push_str(value),
                    (None, Some(default)) => out.push_str(default),
                    (None, None) => {
                        return Err(format!(
                            "line {line_no}: unknown variable `${{{name}}}`; known: {}",
                            vars.keys().cloned().collect::<Vec<_>>().join(", ")
                        ));
                    }
                }
                rest = &body[end + 1..];
            } else if after.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic()) {
                let len = after
                    .find(|c: char| !is_name_char(c))
                    .unwrap_or(after.len());
                let name = &after[..len];
                return Err(format!(
                    "line {line_no}: `${name}` is a bare variable, which Compose would substitute and stackctl does not; write `${{{name}}}`, or `$${name}` for a literal `${name}`"
                ));
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
    }
    Ok(out)
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// Splits the inside of `${...}` into the name and the `:-` default, or says why it is refused.
fn braced(expr: &str) -> Result<(&str, Option<&str>), &'static str> {
    let len = expr.find(|c: char| !is_name_char(c)).unwrap_or(expr.len());
    let (name, op) = expr.split_at(len);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(
            "does not start with a valid variable name (letters, digits, `_`; not a digit first)",
        );
    }
    if op.is_empty() {
        return Ok((name, None));
    }
    let Some(default) = op.strip_prefix(":-") else {
        let compose_form = ["-", "?", "+", ":?", ":+"]
            .iter()
            .any(|o| op.starts_with(o));
        return Err(if compose_form {
            "is a Compose form stackctl does not implement"
        } else {
            "is not a valid variable reference"
        });
    };
    if default.contains('$') {
        return Err(
            "has a `$` in its default, which Compose would interpolate in turn (`$$`, nested `${...}`)",
        );
    }
    Ok((name, Some(default)))
}

fn refusal(line_no: usize, text: &str, why: &str) -> String {
    format!(
        "line {line_no}: `{text}` {why}; stackctl supports only `${{NAME}}` and `${{NAME:-default}}`, and `$$` for a literal `$`"
    )
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

    fn vars() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("A".to_string(), "1".to_string()),
            ("EMPTY".to_string(), String::new()),
        ])
    }

    #[test]
    fn supported_forms_still_work() {
        let v = vars();
        let ok = |t: &str| interpolate(t, &v).expect(t);
        assert_eq!(ok("${A}"), "1");
        assert_eq!(ok("x${A}y"), "x1y");
        assert_eq!(ok("${A:-d}"), "1");
        assert_eq!(ok("${B:-d}"), "d");
        assert_eq!(ok("${B:-}"), "");
        assert_eq!(ok("${B:-a:-b {c}"), "a:-b {c");
        // As in Compose, `:-` also applies when the variable is set but empty.
        assert_eq!(ok("${EMPTY:-d}"), "d");
        assert_eq!(ok("${EMPTY}"), "");
        assert_eq!(ok("$$"), "$");
        assert_eq!(ok("$$A $${A} $$$$"), "$A ${A} $$");
        assert_eq!(
            ok("cost: 5$ or $5, $-1, $ {x}, $."),
            "cost: 5$ or $5, $-1, $ {x}, $."
        );
        assert_eq!(
            ok("a: ${A}\n# $A ${V-d} ${\nb: ${A}\n"),
            "a: 1\n# $A ${V-d} ${\nb: 1\n"
        );
        assert_eq!(ok("  # indented $A comment\n"), "  # indented $A comment\n");
    }

    /// The error for `text` placed on line 2 of a file.
    fn refused(text: &str) -> String {
        interpolate(&format!("ok: ${{A}}\nkey: {text} tail\n"), &vars()).expect_err(text)
    }

    #[test]
    fn a_bare_variable_is_refused_with_what_to_write() {
        for (text, name) in [
            ("$A", "A"),
            ("$NAME", "NAME"),
            ("$_x1", "_x1"),
            ("pre$lower", "lower"),
        ] {
            let e = refused(text);
            assert!(e.starts_with("line 2: "), "{e}");
            assert!(e.contains(&format!("`${name}`")), "{e}");
            assert!(e.contains(&format!("`${{{name}}}`")), "{e}");
            assert!(e.contains(&format!("`$${name}`")), "{e}");
        }
    }

    #[test]
    fn other_compose_forms_are_refused() {
        for text in [
            "${V-d}",
            "${A-d}",
            "${V:?err}",
            "${A:?err}",
            "${V?err}",
            "${V:+alt}",
            "${A:+alt}",
            "${V+alt}",
            // Before, these found `:-` further on and silently used the default.
            "${V:+alt:-x}",
            "${V?e:-x}",
            "${V-d:-x}",
            "${:-d}",
            "${}",
            "${1A}",
            "${A B}",
            "${ A }",
            "${A:x}",
            "${A:-$$}",
            "${A:-${B}",
            "${A:-x$y}",
        ] {
            let e = refused(text);
            assert!(e.starts_with("line 2: "), "{text}: {e}");
            assert!(e.contains(&format!("`{text}`")), "{text}: {e}");
            assert!(
                e.contains("`${NAME}` and `${NAME:-default}`, and `$$` for a literal `$`"),
                "{text}: {e}"
            );
        }
        assert!(refused("${V:?err}").contains("Compose form"));
        assert!(refused("${A:-${B}").contains("`$` in its default"));
    }

    #[test]
    fn an_unterminated_brace_names_its_line() {
        let e = refused("${A");
        assert!(e.starts_with("line 2: unterminated"), "{e}");
        assert!(e.contains("`${A tail`"), "{e}");
    }
}
