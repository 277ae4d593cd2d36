//! How the engine keeps every container's log (`logging:` in configs/stack.yaml): one driver and
//! rotation for all services, passed through the compose file to the engine's
//! HostConfig.LogConfig. Without rotation a long-lived stack's logs grow without bound.

use serde::{Deserialize, Serialize};

/// Drivers that keep the log on the host (so `stackctl logs` and `verify` can read it) and rotate
/// it with `max-size` / `max-file`.
pub const LOG_DRIVERS: [&str; 2] = ["json-file", "local"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Logging {
    /// `json-file` (Docker's default format) or `local` (compressed, same options).
    pub driver: String,
    /// One log file's size before it is rotated: a number with k, m or g (Docker's `max-size`).
    pub max_size: String,
    /// Rotated files kept per container, the current one included (Docker's `max-file`).
    pub max_file: u32,
}

impl Default for Logging {
    fn default() -> Logging {
        Logging {
            driver: "json-file".into(),
            max_size: "10m".into(),
            max_file: 3,
        }
    }
}

impl Logging {
    /// The first problem, as (setting, problem), for the settings' error message.
    pub(super) fn problem(&self) -> Option<(&'static str, String)> {
        if !LOG_DRIVERS.contains(&self.driver.as_str()) {
            return Some((
                "logging.driver",
                format!(
                    "is `{}`; use one of {} (drivers that keep the log on the host and rotate it)",
                    self.driver,
                    LOG_DRIVERS.join(", ")
                ),
            ));
        }
        if size_bytes(&self.max_size).is_none_or(|b| b < 1024) {
            return Some((
                "logging.max_size",
                format!(
                    "is `{}`; write a size of at least 1k as a number with k, m or g, e.g. 10m",
                    self.max_size
                ),
            ));
        }
        if !(1..=100).contains(&self.max_file) {
            return Some((
                "logging.max_file",
                format!("is {}; must be 1..=100", self.max_file),
            ));
        }
        None
    }

    /// The most a container's log can hold on the host.
    pub fn bound_bytes(&self) -> u64 {
        size_bytes(&self.max_size).unwrap_or(0) * u64::from(self.max_file)
    }
}

/// `10m` → 10 MiB, as Docker reads `max-size` (k, m, g; a bare number is bytes).
fn size_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_lowercase()),
        _ => (t, 'b'),
    };
    let n: u64 = digits.parse().ok()?;
    let factor = match unit {
        'b' => 1,
        'k' => 1 << 10,
        'm' => 1 << 20,
        'g' => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_rotate_and_bad_values_name_the_setting() {
        let l = Logging::default();
        assert_eq!(l.problem(), None);
        assert_eq!(l.bound_bytes(), 30 << 20);
        let bad = Logging {
            driver: "syslog".into(),
            ..Logging::default()
        };
        assert_eq!(bad.problem().map(|p| p.0), Some("logging.driver"));
        let bad = Logging {
            max_size: "10x".into(),
            ..Logging::default()
        };
        assert_eq!(bad.problem().map(|p| p.0), Some("logging.max_size"));
        let bad = Logging {
            max_file: 0,
            ..Logging::default()
        };
        assert_eq!(bad.problem().map(|p| p.0), Some("logging.max_file"));
        assert_eq!(size_bytes("2g"), Some(2 << 30));
        assert_eq!(size_bytes("512"), Some(512));
    }
}
