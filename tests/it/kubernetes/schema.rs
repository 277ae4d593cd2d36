//! A structural-schema validator with the API server's rules for custom resources: a field the
//! schema does not declare is an error (what `fieldValidation=Strict` reports) unless
//! `x-kubernetes-preserve-unknown-fields` says otherwise; types, `required`, `enum`, bounds,
//! `pattern` and `allOf`/`anyOf`/`oneOf`/`not` are checked. CEL rules (`x-kubernetes-validations`)
//! are not evaluated here: the dry-run on the API server does that.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// The `openAPIV3Schema` of each served (group, version, kind).
pub struct Schemas {
    by_kind: BTreeMap<(String, String), (String, Value)>,
    /// Every CRD document, for the API server.
    pub crds: Vec<Value>,
}

impl Schemas {
    pub fn new() -> Schemas {
        Schemas {
            by_kind: BTreeMap::new(),
            crds: Vec::new(),
        }
    }

    /// Loads a CRD file (YAML merge keys applied).
    pub fn load(&mut self, path: &Path) {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading CRD {}: {e}", path.display()));
        let mut yaml: serde_norway::Value = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("parsing CRD {}: {e}", path.display()));
        yaml.apply_merge()
            .unwrap_or_else(|e| panic!("merge keys in {}: {e}", path.display()));
        let crd: Value = serde_json::to_value(&yaml).expect("CRD as JSON");
        let group = crd["spec"]["group"]
            .as_str()
            .expect("spec.group")
            .to_string();
        let kind = crd["spec"]["names"]["kind"].as_str().expect("kind");
        let plural = crd["spec"]["names"]["plural"].as_str().expect("plural");
        for v in crd["spec"]["versions"].as_array().expect("versions") {
            let version = v["name"].as_str().expect("version name");
            let schema = v["schema"]["openAPIV3Schema"].clone();
            self.by_kind.insert(
                (format!("{group}/{version}"), kind.to_string()),
                (plural.to_string(), schema),
            );
        }
        self.crds.push(crd);
    }

    /// The plural resource name of a custom kind, if a CRD serves it.
    pub fn plural(&self, api_version: &str, kind: &str) -> Option<&str> {
        self.by_kind
            .get(&(api_version.to_string(), kind.to_string()))
            .map(|(p, _)| p.as_str())
    }

    /// Every schema violation of `doc`; `None` when no CRD serves its kind.
    pub fn validate(&self, doc: &Value) -> Option<Vec<String>> {
        let key = (
            doc["apiVersion"].as_str()?.to_string(),
            doc["kind"].as_str()?.to_string(),
        );
        let (_, schema) = self.by_kind.get(&key)?;
        let mut errors = Vec::new();
        let Some(fields) = doc.as_object() else {
            return Some(vec!["not an object".into()]);
        };
        for (name, value) in fields {
            match name.as_str() {
                "apiVersion" | "kind" | "metadata" => {}
                _ => match schema["properties"].get(name) {
                    Some(s) => check(s, value, name, true, &mut errors),
                    None => errors.push(format!("unknown field \"{name}\"")),
                },
            }
        }
        Some(errors)
    }
}

fn check(schema: &Value, value: &Value, path: &str, strict: bool, errors: &mut Vec<String>) {
    if value.is_null() {
        if schema["nullable"] != Value::Bool(true) {
            errors.push(format!("{path}: null is not allowed"));
        }
        return;
    }
    let int_or_string = schema["x-kubernetes-int-or-string"] == Value::Bool(true);
    let type_ok = match schema["type"].as_str() {
        _ if int_or_string => value.is_string() || value.is_i64() || value.is_u64(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !type_ok {
        errors.push(format!(
            "{path}: Invalid value: {value}: must be of type {}",
            schema["type"]
        ));
        return;
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        errors.push(format!(
            "{path}: Unsupported value: {value}: supported values: {}",
            Value::Array(options.clone())
        ));
    }
    scalar_bounds(schema, value, path, errors);
    combinators(schema, value, path, errors);
    match value {
        Value::Object(map) => object(schema, map, path, strict, errors),
        Value::Array(items) => {
            if let Some(min) = schema["minItems"].as_u64()
                && (items.len() as u64) < min
            {
                errors.push(format!("{path}: must have at least {min} items"));
            }
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    check(item, v, &format!("{path}[{i}]"), strict, errors);
                }
            }
        }
        _ => {}
    }
}

fn object(
    schema: &Value,
    map: &serde_json::Map<String, Value>,
    path: &str,
    strict: bool,
    errors: &mut Vec<String>,
) {
    for r in schema["required"].as_array().into_iter().flatten() {
        if let Some(r) = r.as_str()
            && !map.contains_key(r)
        {
            errors.push(format!("{path}.{r}: Required value"));
        }
    }
    let preserve = schema["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true);
    for (name, v) in map {
        let at = format!("{path}.{name}");
        if let Some(s) = schema["properties"].get(name) {
            check(s, v, &at, strict, errors);
        } else if let Some(s) = schema.get("additionalProperties").filter(|s| s.is_object()) {
            check(s, v, &at, strict, errors);
        } else if strict && !preserve && schema["additionalProperties"] != Value::Bool(true) {
            errors.push(format!("unknown field \"{at}\""));
        }
    }
}

fn scalar_bounds(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if let (Some(min), Some(n)) = (schema["minimum"].as_f64(), value.as_f64())
        && n < min
    {
        errors.push(format!(
            "{path}: Invalid value: {n}: should be greater than or equal to {min}"
        ));
    }
    if let (Some(max), Some(n)) = (schema["maximum"].as_f64(), value.as_f64())
        && n > max
    {
        errors.push(format!(
            "{path}: Invalid value: {n}: should be less than or equal to {max}"
        ));
    }
    if let (Some(pattern), Some(s)) = (schema["pattern"].as_str(), value.as_str()) {
        let re = regex::Regex::new(pattern)
            .unwrap_or_else(|e| panic!("pattern {pattern} at {path}: {e}"));
        if !re.is_match(s) {
            errors.push(format!(
                "{path}: Invalid value: \"{s}\": should match '{pattern}'"
            ));
        }
    }
}

/// `allOf`/`anyOf`/`oneOf`/`not` validate values only (structural schemas may not declare
/// fields in them), so unknown fields are not judged inside.
fn combinators(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let passes = |s: &Value| {
        let mut e = Vec::new();
        check(s, value, path, false, &mut e);
        e.is_empty()
    };
    let branches = |key: &str| schema[key].as_array().cloned().unwrap_or_default();
    for s in branches("allOf") {
        check(&s, value, path, false, errors);
    }
    let any = branches("anyOf");
    if !any.is_empty() && !any.iter().any(passes) {
        errors.push(format!("{path}: matches none of anyOf"));
    }
    let one = branches("oneOf");
    if !one.is_empty() {
        let n = one.iter().filter(|s| passes(s)).count();
        if n != 1 {
            errors.push(format!(
                "{path}: must match exactly one schema in oneOf, matches {n}"
            ));
        }
    }
    if schema.get("not").is_some_and(passes) {
        errors.push(format!("{path}: must not match the `not` schema"));
    }
}
