//! Progress of long work (image builds, start-up, provisioning, rotation): the core reports lines,
//! the command layer decides how they look and where they go.

/// Receives one line per step: `subject` is what the line is about (a service, `rotate`, …).
pub trait Progress: Sync {
    fn line(&self, subject: &str, message: &str);
}

/// Discards every line (tests, `--quiet`).
pub struct Silent;

impl Progress for Silent {
    fn line(&self, _: &str, _: &str) {}
}
