//! The compose file as written: the subset of Compose that stackctl implements, deserialized
//! with unknown keys refused by path.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) name: String,
    pub(super) services: BTreeMap<String, RawService>,
    #[serde(default)]
    pub(super) networks: BTreeMap<String, serde_norway::Value>,
    #[serde(default)]
    pub(super) volumes: BTreeMap<String, serde_norway::Value>,
    #[serde(default)]
    pub(super) secrets: BTreeMap<String, RawSecretDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) image: String,
    #[serde(default)]
    pub(super) build: Option<RawBuild>,
    #[serde(default)]
    pub(super) command: Option<Vec<String>>,
    #[serde(default)]
    pub(super) environment: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) secrets: Vec<RawSecretRef>,
    #[serde(default)]
    pub(super) volumes: Vec<String>,
    #[serde(default)]
    pub(super) ports: Vec<String>,
    #[serde(default)]
    pub(super) healthcheck: Option<RawHealthcheck>,
    #[serde(default)]
    pub(super) depends_on: BTreeMap<String, RawDependency>,
    #[serde(default)]
    pub(super) deploy: Option<RawDeploy>,
    #[serde(default)]
    pub(super) restart: Option<String>,
    #[serde(default)]
    pub(super) logging: Option<RawLogging>,
    #[serde(default)]
    pub(super) networks: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLogging {
    pub(super) driver: String,
    #[serde(default)]
    pub(super) options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBuild {
    pub(super) context: String,
    #[serde(default)]
    pub(super) args: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSecretRef {
    pub(super) source: String,
    pub(super) target: String,
    pub(super) uid: String,
    pub(super) gid: String,
    pub(super) mode: RawMode,
}

/// A file mode as Compose writes it: `0400` (YAML 1.1 octal, which a YAML 1.2 parser reads as a
/// string) or an already-converted integer.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum RawMode {
    Int(u32),
    Text(String),
}

impl RawMode {
    pub(super) fn value(&self) -> Option<u32> {
        match self {
            RawMode::Int(n) => Some(*n),
            RawMode::Text(t) => u32::from_str_radix(t.trim_start_matches("0o"), 8).ok(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSecretDef {
    pub(super) file: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealthcheck {
    pub(super) test: Vec<String>,
    pub(super) interval: String,
    pub(super) timeout: String,
    pub(super) retries: u32,
    pub(super) start_period: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDependency {
    pub(super) condition: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeploy {
    pub(super) resources: RawResources,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResources {
    pub(super) limits: RawLimits,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) cpus: String,
    pub(super) memory: String,
}

/// Drops `x-…` extension keys (Compose's escape hatch) wherever they occur; every other unknown
/// key is then refused by the model. stackctl's own former extensions (`x-stackctl-…`) are
/// refused: what a phase mounts and limits is decided by the render layout and the phase.
pub(super) fn strip_extensions(value: &mut serde_norway::Value) -> Result<(), String> {
    match value {
        serde_norway::Value::Mapping(map) => {
            let keys: Vec<serde_norway::Value> = map
                .keys()
                .filter(|k| k.as_str().is_some_and(|k| k.starts_with("x-")))
                .cloned()
                .collect();
            for k in keys {
                if let Some(name) = k.as_str().filter(|k| k.starts_with("x-stackctl-")) {
                    return Err(format!(
                        "`{name}` is no longer read: the phase decides which rendered files are mounted (src/render/layout.rs) and when limits apply; remove the key"
                    ));
                }
                map.remove(&k);
            }
            for (_, v) in map.iter_mut() {
                strip_extensions(v)?;
            }
        }
        serde_norway::Value::Sequence(seq) => {
            for v in seq {
                strip_extensions(v)?;
            }
        }
        _ => {}
    }
    Ok(())
}
