//! The CI workflows' steps, run here as CI runs them (scripts/ci-steps.sh) on the e2e project:
//! the images are those `images build` made earlier (same recipes, so nothing is built), saved
//! into a cache directory named by identity, loaded back (nothing to load: all present), then
//! secrets, `up --no-build`, `verify --junit` and `down`.

use std::path::Path;
use std::process::{Command, Output};

use crate::Project;
use crate::e2e_project::e2e_project_name;
use crate::repo_root;

fn steps(p: &Project, cache: &Path, names: &[&str]) -> Output {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/ci-steps.sh"))
        .args(names)
        .env("STACKCTL_ROOT", p.path())
        .env("STACKCTL_BIN", env!("CARGO_BIN_EXE_stackctl"))
        .env("STACKCTL_IMAGES_DIR", cache)
        .env("STACKCTL_COLOR", "never")
        .output()
        .expect("run ci-steps.sh");
    eprintln!(
        "$ ci-steps.sh {} -> {:?}\n{}\n{}",
        names.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs after the main e2e test brought its stack down.
pub(crate) fn ci_steps_bring_the_stack_up_and_down(p: &Project) {
    let cache = p.path().join(".ci-cache/images");
    // The key is stable for unchanged recipes.
    let key = steps(p, &cache, &["images-key"]);
    assert!(key.status.success());
    let again = steps(p, &cache, &["images-key"]);
    assert_eq!(key.stdout, again.stdout);
    assert_eq!(String::from_utf8_lossy(&key.stdout).trim().len(), 32);

    // Images present from the e2e's build: nothing is built; then saved under their identity.
    let images = steps(p, &cache, &["images", "save-images"]);
    assert!(images.status.success());
    let stdout = String::from_utf8_lossy(&images.stdout);
    assert!(stdout.contains("0 built"), "{stdout}");
    let index = std::fs::read_to_string(cache.join("stackctl-images.json")).expect("index");
    let index: serde_json::Value = serde_json::from_str(&index).expect("index JSON");
    let archive = index["archive"].as_str().expect("archive");
    assert!(cache.join(archive).is_file(), "{archive}");
    assert_eq!(index["images"].as_object().expect("images").len(), 4);
    // Saving again writes nothing: the archive of these identities is there.
    let resave = steps(p, &cache, &["save-images"]);
    assert!(String::from_utf8_lossy(&resave.stdout).contains("already saved"));

    // A cache restored on a machine that has the images loads nothing and says so.
    let load = steps(p, &cache, &["images"]);
    let stdout = String::from_utf8_lossy(&load.stdout);
    assert_eq!(stdout.matches("present").count(), 8, "{stdout}");

    let run = steps(p, &cache, &["secrets", "up", "verify"]);
    let junit = p.path().join(".stackctl/verify-junit.xml");
    let report = std::fs::read_to_string(&junit).unwrap_or_default();
    let down = steps(p, &cache, &["down"]);
    assert!(run.status.success(), "up/verify through ci-steps.sh failed");
    assert!(report.contains("failures=\"0\""), "{report}");
    assert!(down.status.success());
    let left = Command::new("docker")
        .args(["ps", "-aq", "--filter"])
        .arg(format!("label=io.stackctl.project={}", e2e_project_name()))
        .output()
        .expect("docker ps");
    assert!(left.stdout.is_empty(), "containers left after down");
}
