//! Secret hygiene (required from phase 3, reported as warnings before): secret files private and
//! git-ignored; no secret — in any of its forms ([`crate::secrets::SecretSet::forms`]) — in
//! tracked files or `.env`, in any container's environment or command line, in container logs,
//! or in the images; secret-bearing rendered files private on the host and in the containers.
//!
//! Each pass rests on what was looked at: git that cannot answer, a project without containers,
//! or a file that cannot be read is a failure saying so, never an empty scan that passes.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{Check, Context, Outcome, check, fail, pass};
use crate::engine::containers::ProjectContainer;
use crate::render::RENDER_DIR;
use crate::render::layout::{layout, node_path};
use crate::secrets::{FileStore, Form, GitGuard, tracked_files as git_tracked_files};

/// Which secrets occur in `text`, in which form: `kafka-admin (Base64)`; never the value.
pub(crate) fn leaks(forms: &[Form], text: &str) -> Vec<String> {
    let mut found: Vec<String> = forms
        .iter()
        .filter(|f| text.contains(f.expose()))
        .map(|f| format!("{} ({:?})", f.principal, f.kind))
        .collect();
    found.dedup();
    found
}

/// The permission bits of `path`, or why they cannot be read.
fn mode(path: &Path) -> Result<u32, String> {
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))
}

/// A problem when `path` is not exactly `want` (or cannot be looked at).
fn exact_mode(path: &Path, want: u32) -> Option<String> {
    match mode(path) {
        Ok(m) if m == want => None,
        Ok(m) => Some(format!(
            "{} is mode {m:04o}, not {want:04o} (chmod {want:o} it)",
            path.display()
        )),
        Err(e) => Some(e),
    }
}

/// A problem when `path` is readable by group or others (or cannot be looked at).
#[allow(
    clippy::verbose_bit_mask,
    reason = "`mode & 0o077 == 0` reads as \"no group or other permission bits\"; trailing_zeros would hide that"
)]
fn private_mode(path: &Path, what: &str) -> Option<String> {
    match mode(path) {
        Ok(m) if m & 0o077 == 0 => None,
        Ok(m) => Some(format!(
            "{} {what} but is mode {m:04o} (chmod 600 it, or run `stackctl up`)",
            path.display()
        )),
        Err(e) => Some(format!("{e} ({what}; run `stackctl up` to render it)")),
    }
}

/// Rendered files on the host: every layout row flagged secret for this phase exists and is
/// private; any other rendered file that holds a secret form is private too.
fn rendered_file_problems(ctx: &Context) -> Vec<String> {
    let dir = ctx.root.join(RENDER_DIR);
    // A per-node file (server.properties) is checked at every node's path.
    let nodes = ctx.settings.kafka_nodes();
    let mut paths = std::collections::BTreeSet::new();
    for spec in layout().filter(|spec| spec.secret && spec.exists_at(ctx.phase)) {
        for node in &nodes {
            paths.insert(node_path(&spec, Some(&node.service), nodes.len()));
        }
    }
    let mut problems: Vec<String> = paths
        .into_iter()
        .filter_map(|path| private_mode(&dir.join(path), "holds a credential"))
        .collect();
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(format!("cannot list {}: {e}", dir.display()));
                continue;
            }
        };
        for entry in entries {
            let path = match entry {
                Ok(entry) => entry.path(),
                Err(e) => {
                    problems.push(format!("cannot list {}: {e}", dir.display()));
                    continue;
                }
            };
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && !leaks(&ctx.forms, &String::from_utf8_lossy(&bytes)).is_empty()
            {
                problems.extend(private_mode(&path, "holds a secret"));
            }
        }
    }
    problems
}

fn secret_files(ctx: &Context) -> Outcome {
    let git = match GitGuard::check(&ctx.root) {
        Ok(git) => git,
        Err(e) => return fail(e.to_string()),
    };
    let store = FileStore::new(&ctx.root);
    let mut problems: Vec<String> = exact_mode(store.dir(), 0o700).into_iter().collect();
    for p in ctx.settings.principals() {
        problems.extend(exact_mode(&store.path_for(&p), 0o600));
    }
    problems.extend(rendered_file_problems(ctx));
    match (problems.is_empty(), git) {
        (false, _) => fail(problems.join("; ")),
        (true, GitGuard::IgnoredAndUntracked) => pass(
            "secrets/ 0700, every secret and rendered credential file 0600, git-ignored, none tracked",
        ),
        (true, GitGuard::NotARepository) => pass(
            "secrets/ 0700, every secret and rendered credential file 0600; not in a git repository (no .git in the project or above it), so nothing can be committed",
        ),
    }
}

/// The verdict on the files to scan: `listed` is git's answer (`None`: no repository), `env` the
/// project's `.env` if present. Files are read with `read`; one that cannot be read is a failure.
pub(crate) fn scan_tracked(
    forms: &[Form],
    root: &Path,
    listed: Option<Vec<PathBuf>>,
    env: Option<PathBuf>,
    read: impl Fn(&Path) -> std::io::Result<Vec<u8>>,
) -> Outcome {
    let in_repo = listed.is_some();
    let files: Vec<PathBuf> = listed.into_iter().flatten().chain(env).collect();
    let mut offenders = Vec::new();
    let mut unreadable = Vec::new();
    for file in &files {
        let name = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        match read(file) {
            Ok(bytes) => {
                let found = leaks(forms, &String::from_utf8_lossy(&bytes));
                if !found.is_empty() {
                    offenders.push(format!("{name}: {}", found.join(", ")));
                }
            }
            // Tracked but deleted in the work tree: nothing there to leak.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => unreadable.push(format!("{name} ({e})")),
        }
    }
    if !offenders.is_empty() {
        return fail(format!(
            "secret value(s) found in: {} — remove them and rotate those credentials",
            offenders.join("; ")
        ));
    }
    if !unreadable.is_empty() {
        return fail(format!(
            "cannot read {} to scan them; make them readable",
            unreadable.join(", ")
        ));
    }
    if in_repo {
        pass(format!(
            "no secret in any form in {} tracked file(s) or .env",
            files.len()
        ))
    } else {
        pass(format!(
            "not in a git repository (no .git in the project or above it): nothing tracked; no secret in {} .env file(s)",
            files.len()
        ))
    }
}

fn tracked_files(ctx: &Context) -> Outcome {
    let listed = match git_tracked_files(&ctx.root) {
        Ok(listed) => listed,
        Err(e) => return fail(e.to_string()),
    };
    let env = Some(ctx.root.join(".env")).filter(|p| p.exists());
    scan_tracked(&ctx.forms, &ctx.root, listed, env, |p| std::fs::read(p))
}

/// The project's containers; none at all is a failure (there is nothing to look at).
async fn containers(ctx: &Context) -> Result<Vec<ProjectContainer>, String> {
    let containers = ctx
        .engine
        .project_containers(&ctx.settings.project)
        .await
        .map_err(|e| e.to_string())?;
    if containers.is_empty() {
        return Err(format!(
            "no containers of project {} to look at: run `stackctl up`",
            ctx.settings.project
        ));
    }
    Ok(containers)
}

async fn container_env(ctx: &Context) -> Outcome {
    let containers = match containers(ctx).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let mut offenders = Vec::new();
    for c in &containers {
        let entries = match ctx.engine.container_env(&c.id).await {
            Ok(entries) => entries,
            Err(e) => return fail(format!("cannot read the environment of {}: {e}", c.name)),
        };
        for entry in entries.iter().filter(|e| !leaks(&ctx.forms, e).is_empty()) {
            let key = entry.split_once('=').map_or("argument", |(k, _)| k);
            offenders.push(format!("{} ({key})", c.name));
        }
    }
    if offenders.is_empty() {
        pass(format!(
            "no secret in any form in the environment or command line of {} container(s)",
            containers.len()
        ))
    } else {
        fail(format!(
            "secret value in the environment/command of: {}; secrets must be mounted files",
            offenders.join(", ")
        ))
    }
}

async fn container_logs(ctx: &Context) -> Outcome {
    let containers = match containers(ctx).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    // Streamed, one multi-pattern pass per log (super::log_scan): a long-lived stack's logs may
    // hold a gigabyte, never held whole nor searched once per secret form.
    let patterns: Vec<Vec<u8>> = ctx
        .forms
        .iter()
        .map(|f| f.expose().as_bytes().to_vec())
        .collect();
    let mut offenders = Vec::new();
    for c in &containers {
        let seen =
            match super::log_scan::scan_container(ctx.engine.as_ref(), &c.id, &patterns).await {
                Ok(seen) => seen,
                Err(e) => return fail(format!("cannot read the logs of {}: {e}", c.name)),
            };
        let mut found: Vec<String> = seen
            .iter()
            .map(|i| format!("{} ({:?})", ctx.forms[*i].principal, ctx.forms[*i].kind))
            .collect();
        found.dedup();
        if !found.is_empty() {
            offenders.push(format!("{} ({})", c.name, found.join(", ")));
        }
    }
    if offenders.is_empty() {
        pass(format!(
            "no secret in any form in the logs of {} container(s)",
            containers.len()
        ))
    } else {
        fail(format!("secret values logged by: {}", offenders.join("; ")))
    }
}

async fn images(ctx: &Context) -> Outcome {
    let mut offenders = Vec::new();
    for service in &ctx.stack.services {
        match ctx.engine.image_strings(&service.image).await {
            Ok(strings) if strings.is_empty() => {
                return fail(format!(
                    "the engine returned no config or history for image {} to scan",
                    service.image
                ));
            }
            Ok(strings) => {
                if strings.iter().any(|s| !leaks(&ctx.forms, s).is_empty()) {
                    offenders.push(service.image.clone());
                }
            }
            Err(e) => return fail(e.to_string()),
        }
    }
    if offenders.is_empty() {
        pass(format!(
            "no secret in the config or history of {} image(s)",
            ctx.settings.services.len()
        ))
    } else {
        fail(format!(
            "secret baked into image(s): {}",
            offenders.join(", ")
        ))
    }
}

/// Every rendered file the layout flags as secret, as mounted in its service's container: owned
/// by the declared uid and readable by no group or other.
#[allow(
    clippy::verbose_bit_mask,
    reason = "`mode & 0o077 == 0` reads as \"no group or other permission bits\"; trailing_zeros would hide that"
)]
async fn mounted_secret_modes(ctx: &Context) -> Outcome {
    let containers = match containers(ctx).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let mut problems = Vec::new();
    let mut seen = 0;
    for service in &ctx.stack.services {
        let mounts: Vec<_> = service
            .files
            .iter()
            .filter(|f| f.file.spec().secret)
            .collect();
        if mounts.is_empty() {
            continue;
        }
        let Some(c) = containers.iter().find(|c| c.service == service.name) else {
            problems.push(format!("no {} container to look into", service.name));
            continue;
        };
        for mount in mounts {
            seen += 1;
            match ctx.engine.file_stat(&c.id, &mount.target).await {
                Ok(s) if s.mode & 0o077 == 0 && s.uid == mount.uid => {}
                Ok(s) => problems.push(format!(
                    "{} in {} is mode {:04o} owned by uid {} (must be private to uid {}; run `stackctl up`)",
                    mount.target, c.name, s.mode, s.uid, mount.uid
                )),
                Err(e) => problems.push(format!("cannot stat {} in {}: {e}", mount.target, c.name)),
            }
        }
    }
    match (problems.is_empty(), seen) {
        (false, _) => fail(problems.join("; ")),
        (true, 0) => fail(format!(
            "the compose file mounts no secret-bearing rendered file at phase {}, so none was checked",
            ctx.phase
        )),
        (true, n) => pass(format!(
            "{n} secret-bearing file(s) in the containers are private to their service user"
        )),
    }
}

pub fn checks() -> Vec<Check> {
    vec![
        check!("hygiene.secret-files", "hygiene", from SecretsHygiene, Positive, 10, "secret files private and git-ignored", |ctx| secret_files(ctx)),
        check!("hygiene.tracked-files", "hygiene", from SecretsHygiene, Negative, 20, "no secret in tracked files or .env", |ctx| tracked_files(ctx)),
        check!("hygiene.container-env", "hygiene", from SecretsHygiene, Negative, 10, "no secret in container environments", |ctx| container_env(ctx).await),
        check!("hygiene.container-logs", "hygiene", from SecretsHygiene, Negative, 20, "no secret in container logs", |ctx| container_logs(ctx).await),
        check!("hygiene.images", "hygiene", from SecretsHygiene, Negative, 15, "no secret in images", |ctx| images(ctx).await),
        check!("hygiene.mounted-secret-modes", "hygiene", from SecretsHygiene, Positive, 15, "secret files private inside the containers", |ctx| mounted_secret_modes(ctx).await),
    ]
}

#[cfg(test)]
#[path = "hygiene_tests.rs"]
mod tests;
