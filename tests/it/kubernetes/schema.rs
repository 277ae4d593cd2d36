//! Validation of rendered manifests against the schemas the API server uses, unknown fields
//! rejected (what `fieldValidation=Strict` reports):
//! - custom resources against their CRD's structural `openAPIV3Schema`: a field the schema does
//!   not declare is an error unless `x-kubernetes-preserve-unknown-fields` says otherwise; its
//!   `metadata` is checked as ObjectMeta when Kubernetes' schemas are loaded;
//! - built-in kinds (Deployment, Service, Job, …) against Kubernetes' own published OpenAPI v3
//!   documents (`api/openapi-spec/v3/` of the `k8s.io/kubernetes` module): `$ref`s resolved, an
//!   object with `properties` accepts no other field, `additionalProperties` types map values,
//!   int-or-string and quantities checked.
//!
//! Types, `required`, `enum`, bounds, `pattern` and `allOf`/`anyOf`/`oneOf`/`not` are checked.
//! Not here: CEL rules (`x-kubernetes-validations`, the dry-run evaluates them) and the built-in
//! kinds' hand-written Go validation (e.g. a selector that matches the pod template's labels),
//! which only a kube-apiserver runs.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// Which rules a schema follows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// A CRD's structural schema: every level typed; unknown fields pruned, hence refused.
    Structural,
    /// Kubernetes' OpenAPI for built-in kinds: `$ref`s; an object without `properties` or
    /// `additionalProperties` (RawExtension) takes anything; `null` decodes as the zero value.
    BuiltIn,
}

const OBJECT_META: &str = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const QUANTITY: &str = "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity";

/// The schema of each served (apiVersion, kind): custom resources from CRDs, built-in kinds from
/// Kubernetes' OpenAPI v3 documents.
pub struct Schemas {
    by_kind: BTreeMap<(String, String), (String, Value)>,
    built_in: BTreeMap<(String, String), Value>,
    /// `components.schemas` of every OpenAPI document loaded, by `#/components/schemas/…`.
    defs: BTreeMap<String, Value>,
    /// Every CRD document, for the API server.
    pub crds: Vec<Value>,
}

impl Schemas {
    pub fn new() -> Schemas {
        Schemas {
            by_kind: BTreeMap::new(),
            built_in: BTreeMap::new(),
            defs: BTreeMap::new(),
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

    /// Loads one of Kubernetes' OpenAPI v3 documents (e.g. `apis__apps__v1_openapi.json`): its
    /// component schemas, and the kinds they serve (`x-kubernetes-group-version-kind`).
    pub fn load_openapi(&mut self, path: &Path) {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let doc: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        let components = doc["components"]["schemas"]
            .as_object()
            .unwrap_or_else(|| panic!("{}: no components.schemas", path.display()));
        for (name, schema) in components {
            let pointer = format!("#/components/schemas/{name}");
            for gvk in schema["x-kubernetes-group-version-kind"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let (group, version) = (gvk["group"].as_str(), gvk["version"].as_str());
                let (Some(group), Some(version), Some(kind)) =
                    (group, version, gvk["kind"].as_str())
                else {
                    panic!(
                        "{}: {name}: malformed x-kubernetes-group-version-kind",
                        path.display()
                    );
                };
                let api = if group.is_empty() {
                    version.to_string()
                } else {
                    format!("{group}/{version}")
                };
                // Only a kind whose schema is the object itself (not e.g. WatchEvent, which
                // every group lists).
                if schema["properties"]["kind"].is_object()
                    && schema["properties"]["metadata"].is_object()
                {
                    self.built_in.insert(
                        (api, kind.to_string()),
                        serde_json::json!({ "$ref": pointer }),
                    );
                }
            }
            self.defs.insert(pointer, schema.clone());
        }
    }

    /// The plural resource name of a custom kind, if a CRD serves it.
    pub fn plural(&self, api_version: &str, kind: &str) -> Option<&str> {
        self.by_kind
            .get(&(api_version.to_string(), kind.to_string()))
            .map(|(p, _)| p.as_str())
    }

    /// Every schema violation of `doc`; `None` when no loaded schema serves its kind.
    pub fn validate(&self, doc: &Value) -> Option<Vec<String>> {
        let key = (
            doc["apiVersion"].as_str()?.to_string(),
            doc["kind"].as_str()?.to_string(),
        );
        let mut errors = Vec::new();
        if let Some(schema) = self.built_in.get(&key) {
            let v = Validator {
                defs: &self.defs,
                dialect: Dialect::BuiltIn,
            };
            v.check(schema, doc, "", true, &mut errors);
            return Some(errors);
        }
        let (_, schema) = self.by_kind.get(&key)?;
        let Some(fields) = doc.as_object() else {
            return Some(vec!["not an object".into()]);
        };
        let v = Validator {
            defs: &self.defs,
            dialect: Dialect::Structural,
        };
        // The API server checks a custom resource's metadata as ObjectMeta (when loaded).
        if let (Some(meta), Some(value)) = (self.defs.get(OBJECT_META), fields.get("metadata")) {
            let built_in = Validator {
                defs: &self.defs,
                dialect: Dialect::BuiltIn,
            };
            built_in.check(meta, value, "metadata", true, &mut errors);
        }
        for (name, value) in fields {
            match name.as_str() {
                "apiVersion" | "kind" | "metadata" => {}
                _ => match schema["properties"].get(name) {
                    Some(s) => v.check(s, value, name, true, &mut errors),
                    None => errors.push(format!("unknown field \"{name}\"")),
                },
            }
        }
        Some(errors)
    }
}

/// `path.name`, or `name` at the root.
fn field(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

struct Validator<'a> {
    defs: &'a BTreeMap<String, Value>,
    dialect: Dialect,
}

impl Validator<'_> {
    fn resolve<'s>(&'s self, pointer: &str) -> &'s Value {
        self.defs
            .get(pointer)
            .unwrap_or_else(|| panic!("unresolved $ref {pointer}"))
    }

    fn check(
        &self,
        schema: &Value,
        value: &Value,
        path: &str,
        strict: bool,
        errors: &mut Vec<String>,
    ) {
        if let Some(pointer) = schema["$ref"].as_str() {
            if pointer == QUANTITY {
                quantity(value, path, errors);
            }
            return self.check(self.resolve(pointer), value, path, strict, errors);
        }
        if value.is_null() {
            if self.dialect == Dialect::Structural && schema["nullable"] != Value::Bool(true) {
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
        self.combinators(schema, value, path, strict, errors);
        match value {
            Value::Object(map) => self.object(schema, map, path, strict, errors),
            Value::Array(items) => {
                if let Some(min) = schema["minItems"].as_u64()
                    && (items.len() as u64) < min
                {
                    errors.push(format!("{path}: must have at least {min} items"));
                }
                if let Some(item) = schema.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.check(item, v, &format!("{path}[{i}]"), strict, errors);
                    }
                }
            }
            _ => {}
        }
    }

    fn object(
        &self,
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
                errors.push(format!("{}: Required value", field(path, r)));
            }
        }
        let declares =
            schema.get("properties").is_some() || schema.get("additionalProperties").is_some();
        let open = match self.dialect {
            Dialect::Structural => {
                schema["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true)
                    || schema["additionalProperties"] == Value::Bool(true)
            }
            // `{allOf: [{$ref}]}` declares its fields in the reference; RawExtension none.
            Dialect::BuiltIn => !declares || schema["additionalProperties"] == Value::Bool(true),
        };
        for (name, v) in map {
            let at = field(path, name);
            if let Some(s) = schema["properties"].get(name) {
                self.check(s, v, &at, strict, errors);
            } else if let Some(s) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                self.check(s, v, &at, strict, errors);
            } else if strict && !open {
                errors.push(format!("unknown field \"{at}\""));
            }
        }
    }

    /// `allOf`/`anyOf`/`oneOf`/`not` validate values only (structural schemas may not declare
    /// fields in them), so unknown fields are not judged inside — except a `$ref` under `allOf`,
    /// which is how Kubernetes' OpenAPI types a field, and keeps `strict`.
    fn combinators(
        &self,
        schema: &Value,
        value: &Value,
        path: &str,
        strict: bool,
        errors: &mut Vec<String>,
    ) {
        let passes = |s: &Value| {
            let mut e = Vec::new();
            self.check(s, value, path, false, &mut e);
            e.is_empty()
        };
        let branches = |key: &str| schema[key].as_array().cloned().unwrap_or_default();
        for s in branches("allOf") {
            let keep = strict && s.get("$ref").is_some();
            self.check(&s, value, path, keep, errors);
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

/// A resource quantity as apimachinery parses it (`500m`, `1.5`, `512Mi`, `1e3`); a number is
/// left to the `oneOf`.
fn quantity(value: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(s) = value.as_str() else { return };
    let re = regex::Regex::new(
        r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[KMGTPE]i|[mkMGTPE]|[eE][+-]?[0-9]+)?$",
    )
    .expect("quantity pattern");
    if !re.is_match(s) {
        errors.push(format!(
            "{path}: Invalid value: \"{s}\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        ));
    }
}
