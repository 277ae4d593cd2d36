//! Secret hygiene (required from phase 3, reported as warnings before): secret files private and
//! git-ignored; no secret value in tracked files or `.env`, in any container's environment or
//! command line, in container logs, or in the images.

use std::os::unix::fs::PermissionsExt;

use super::{Check, Context, Outcome, check, fail, pass};
use crate::render::RENDER_DIR;
use crate::secrets::{FileStore, GitGuard};

/// Number of secret values found in `text`.
fn leaks(ctx: &Context, text: &str) -> usize {
    ctx.secrets
        .values()
        .filter(|s| text.contains(s.expose()))
        .count()
}

fn mode(path: &std::path::Path) -> Option<u32> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

async fn secret_files(ctx: &Context) -> Outcome {
    if let Err(e) = GitGuard::check(&ctx.root) {
        return fail(e.to_string());
    }
    let store = FileStore::new(&ctx.root);
    let mut problems = Vec::new();
    if mode(store.dir()) != Some(0o700) {
        problems.push(format!("{} is not mode 0700", store.dir().display()));
    }
    for p in ctx.settings.principals() {
        let path = store.path_for(&p);
        if mode(&path) != Some(0o600) {
            problems.push(format!("{} is not mode 0600", path.display()));
        }
    }
    // Rendered files that carry a secret must be private too.
    let rendered = ctx.root.join(RENDER_DIR);
    let mut stack = vec![rendered.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path)
                && leaks(ctx, &text) > 0
                && mode(&path) != Some(0o600)
            {
                problems.push(format!(
                    "{} holds a secret but is not mode 0600",
                    path.display()
                ));
            }
        }
    }
    if problems.is_empty() {
        pass(
            "secrets/ 0700, every secret and rendered credential file 0600, git-ignored, none tracked",
        )
    } else {
        fail(problems.join("; "))
    }
}

async fn tracked_files(ctx: &Context) -> Outcome {
    let listed = tokio::process::Command::new("git")
        .arg("-C")
        .arg(&ctx.root)
        .args(["ls-files", "-z"])
        .output()
        .await;
    let mut files: Vec<std::path::PathBuf> = match listed {
        Ok(out) if out.status.success() => out
            .stdout
            .split(|b| *b == 0)
            .filter(|f| !f.is_empty())
            .map(|f| ctx.root.join(String::from_utf8_lossy(f).as_ref()))
            .collect(),
        _ => Vec::new(),
    };
    let env = ctx.root.join(".env");
    if env.exists() {
        files.push(env);
    }
    let mut offenders = Vec::new();
    for file in &files {
        if let Ok(bytes) = std::fs::read(file)
            && leaks(ctx, &String::from_utf8_lossy(&bytes)) > 0
        {
            offenders.push(
                file.strip_prefix(&ctx.root)
                    .unwrap_or(file)
                    .display()
                    .to_string(),
            );
        }
    }
    if offenders.is_empty() {
        pass(format!(
            "no secret value in {} tracked file(s) or .env",
            files.len()
        ))
    } else {
        fail(format!(
            "secret value(s) found in: {} — remove them and rotate those credentials",
            offenders.join(", ")
        ))
    }
}

/// Runs `inspect` on every container of the project and collects what it reports.
async fn per_container<F, Fut>(ctx: &Context, inspect: F) -> Result<(usize, Vec<String>), String>
where
    F: Fn(String, String) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<String>, String>>,
{
    let containers = ctx
        .engine
        .project_containers(&ctx.settings.project)
        .await
        .map_err(|e| e.to_string())?;
    let mut offenders = Vec::new();
    for c in &containers {
        offenders.extend(inspect(c.id.clone(), c.name.clone()).await?);
    }
    Ok((containers.len(), offenders))
}

async fn container_env(ctx: &Context) -> Outcome {
    let found = per_container(ctx, |id, name| async move {
        let entries = ctx
            .engine
            .container_env(&id)
            .await
            .map_err(|e| e.to_string())?;
        Ok(entries
            .iter()
            .filter(|e| leaks(ctx, e) > 0)
            .map(|e| format!("{name} ({})", e.split('=').next().unwrap_or("argument")))
            .collect())
    })
    .await;
    match found {
        Ok((n, offenders)) if offenders.is_empty() => pass(format!(
            "no secret in the environment or command line of {n} container(s)"
        )),
        Ok((_, offenders)) => fail(format!(
            "secret value in the environment/command of: {}; secrets must be mounted files",
            offenders.join(", ")
        )),
        Err(e) => fail(e),
    }
}

async fn container_logs(ctx: &Context) -> Outcome {
    let found = per_container(ctx, |id, name| async move {
        let text = ctx
            .engine
            .logs(&id, None)
            .await
            .map_err(|e| e.to_string())?;
        let n = leaks(ctx, &text);
        Ok(if n > 0 {
            vec![format!("{name} ({n} value(s))")]
        } else {
            Vec::new()
        })
    })
    .await;
    match found {
        Ok((n, offenders)) if offenders.is_empty() => {
            pass(format!("no secret value in the logs of {n} container(s)"))
        }
        Ok((_, offenders)) => fail(format!("secret values logged by: {}", offenders.join(", "))),
        Err(e) => fail(e),
    }
}

async fn images(ctx: &Context) -> Outcome {
    let mut offenders = Vec::new();
    for service in &ctx.stack.services {
        match ctx.engine.image_strings(&service.image).await {
            Ok(strings) => {
                if strings.iter().any(|s| leaks(ctx, s) > 0) {
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

pub fn checks() -> Vec<Check> {
    vec![
        check!("hygiene.secret-files", "hygiene", from SecretsHygiene, Positive, 10, "secret files private and git-ignored", |ctx| secret_files(ctx).await),
        check!("hygiene.tracked-files", "hygiene", from SecretsHygiene, Negative, 20, "no secret in tracked files or .env", |ctx| tracked_files(ctx).await),
        check!("hygiene.container-env", "hygiene", from SecretsHygiene, Negative, 10, "no secret in container environments", |ctx| container_env(ctx).await),
        check!("hygiene.container-logs", "hygiene", from SecretsHygiene, Negative, 20, "no secret in container logs", |ctx| container_logs(ctx).await),
        check!("hygiene.images", "hygiene", from SecretsHygiene, Negative, 15, "no secret in images", |ctx| images(ctx).await),
    ]
}
