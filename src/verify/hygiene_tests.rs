//! The hygiene decisions against a fake engine and temporary files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::*;
use crate::engine::FileStat;
use crate::settings::Principal;
use crate::verify::fake::{FakeView, container, context};

fn secret_of(ctx: &Context, id: &str) -> String {
    let principal: Principal = ctx
        .settings
        .principals()
        .into_iter()
        .find(|p| p.id() == id)
        .expect("principal");
    ctx.secrets
        .get(&principal)
        .expect("secret")
        .expose()
        .to_string()
}

fn run(outcome: impl std::future::Future<Output = Outcome>) -> Outcome {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(outcome)
}

fn is_fail(o: &Outcome, needle: &str) -> bool {
    matches!(o, Outcome::Fail(r) if r.contains(needle))
}

/// Every service of the project running, with clean environments and logs.
fn clean_view(ctx_project: &str) -> FakeView {
    let mut view = FakeView::default();
    for service in ["kafka", "schema-registry", "connect", "clickhouse"] {
        let c = container(ctx_project, service);
        view.env.insert(c.id.clone(), vec!["PATH=/usr/bin".into()]);
        view.logs.insert(c.id.clone(), "INFO started\n".into());
        view.containers.push(c);
    }
    view
}

#[test]
fn an_empty_project_is_a_failure_not_a_clean_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = context(dir.path(), FakeView::default());
    assert!(is_fail(
        &run(container_env(&ctx)),
        "no containers of project"
    ));
    assert!(is_fail(
        &run(container_logs(&ctx)),
        "no containers of project"
    ));
    assert!(is_fail(&run(mounted_secret_modes(&ctx)), "no containers"));
}

#[test]
fn a_basic_auth_header_in_a_log_is_a_leak() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = context(dir.path(), FakeView::default()).settings.project;
    let mut view = clean_view(&project);
    let ctx = context(dir.path(), view.clone());
    assert!(matches!(run(container_logs(&ctx)), Outcome::Pass(_)));
    let password = secret_of(&ctx, "connect-rest");
    let header = base64::engine::general_purpose::STANDARD.encode(format!("connect:{password}"));
    view.logs.insert(
        "id-connect".into(),
        format!("DEBUG Authorization: Basic {header}\n"),
    );
    let ctx = context(dir.path(), view);
    let outcome = run(container_logs(&ctx));
    assert!(is_fail(&outcome, "connect-rest (Base64)"), "{outcome:?}");
    assert!(!format!("{outcome:?}").contains(&password));
}

#[test]
fn an_engine_that_cannot_answer_fails_the_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = context(dir.path(), FakeView::default()).settings.project;
    let mut view = clean_view(&project);
    view.logs.remove("id-kafka");
    view.env.remove("id-clickhouse");
    let ctx = context(dir.path(), view);
    assert!(is_fail(
        &run(container_logs(&ctx)),
        "cannot read the logs of"
    ));
    assert!(is_fail(
        &run(container_env(&ctx)),
        "cannot read the environment of"
    ));
}

#[test]
fn a_url_encoded_secret_in_the_environment_is_named_by_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = context(dir.path(), FakeView::default()).settings.project;
    let mut view = clean_view(&project);
    let ctx = context(dir.path(), view.clone());
    let password = secret_of(&ctx, "clickhouse-writer");
    view.env.insert(
        "id-clickhouse".into(),
        vec![format!("DSN=http://writer:{password}@ch:8123/")],
    );
    let ctx = context(dir.path(), view);
    let outcome = run(container_env(&ctx));
    assert!(is_fail(&outcome, "(DSN)"), "{outcome:?}");
}

#[test]
fn mounted_secret_files_must_be_private_to_their_user() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = context(dir.path(), FakeView::default());
    let mut view = clean_view(&ctx.settings.project);
    let mounts: Vec<(String, String, u64)> = ctx
        .stack
        .services
        .iter()
        .flat_map(|s| {
            s.files
                .iter()
                .filter(|f| f.file.spec().secret)
                .map(|f| (format!("id-{}", s.name), f.target.clone(), f.uid))
        })
        .collect();
    assert!(mounts.len() > 5, "the compose file mounts secret files");
    for (id, target, uid) in &mounts {
        let stat = FileStat {
            mode: 0o400,
            uid: *uid,
            gid: 0,
        };
        view.files
            .insert(format!("{id}:{target}"), (stat, Vec::new()));
    }
    let ok = run(mounted_secret_modes(&context(dir.path(), view.clone())));
    assert!(
        matches!(&ok, Outcome::Pass(r) if r.starts_with(&mounts.len().to_string())),
        "{ok:?}"
    );

    let (id, target, uid) = &mounts[0];
    let readable = FileStat {
        mode: 0o444,
        uid: *uid,
        gid: 0,
    };
    view.files
        .insert(format!("{id}:{target}"), (readable, Vec::new()));
    let outcome = run(mounted_secret_modes(&context(dir.path(), view.clone())));
    assert!(
        is_fail(&outcome, &format!("{target} in")) && is_fail(&outcome, "mode 0444"),
        "{outcome:?}"
    );

    view.files.remove(&format!("{id}:{target}"));
    let outcome = run(mounted_secret_modes(&context(dir.path(), view)));
    assert!(
        is_fail(&outcome, &format!("cannot stat {target}")),
        "{outcome:?}"
    );
}

fn reader(files: BTreeMap<PathBuf, &'static str>) -> impl Fn(&Path) -> std::io::Result<Vec<u8>> {
    move |p| match files.get(p) {
        Some(text) => Ok(text.as_bytes().to_vec()),
        None if p.ends_with("locked") => Err(std::io::ErrorKind::PermissionDenied.into()),
        None => Err(std::io::ErrorKind::NotFound.into()),
    }
}

#[test]
fn the_tracked_file_scan_says_what_it_looked_at() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = context(dir.path(), FakeView::default());
    let root = Path::new("/p");
    let json = format!(
        "{{\"password\": {}}}",
        serde_json::to_string(&secret_of(&ctx, "kafka-admin")).expect("json")
    );
    let json: &'static str = Box::leak(json.into_boxed_str());
    let files = BTreeMap::from([
        (root.join("README.md"), "hello"),
        (root.join("conf.json"), json),
    ]);
    let clean = scan_tracked(
        &ctx.forms,
        root,
        Some(vec![root.join("README.md")]),
        None,
        reader(files.clone()),
    );
    assert_eq!(
        clean,
        Outcome::Pass("no secret in any form in 1 tracked file(s) or .env".into())
    );
    let listed = Some(vec![root.join("README.md"), root.join("conf.json")]);
    let leaked = scan_tracked(&ctx.forms, root, listed, None, reader(files.clone()));
    assert!(
        is_fail(&leaked, "conf.json: ") && is_fail(&leaked, "(Raw)"),
        "{leaked:?}"
    );
    let listed = Some(vec![root.join("locked"), root.join("deleted")]);
    let unreadable = scan_tracked(&ctx.forms, root, listed, None, reader(files.clone()));
    assert!(is_fail(&unreadable, "cannot read locked"), "{unreadable:?}");
    let outside = scan_tracked(&ctx.forms, root, None, None, reader(files));
    assert!(matches!(&outside, Outcome::Pass(r) if r.starts_with("not in a git repository")));
}

#[test]
fn a_checkout_git_refuses_fails_both_git_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".git"),
        "gitdir: /nonexistent/stackctl-test\n",
    )
    .expect("write");
    let ctx = context(dir.path(), FakeView::default());
    assert!(is_fail(
        &tracked_files(&ctx),
        "git cannot answer `git ls-files -z`"
    ));
    assert!(is_fail(&secret_files(&ctx), "git cannot answer"));
}

#[test]
fn missing_rendered_credentials_fail_the_host_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = context(dir.path(), FakeView::default());
    let problems = rendered_file_problems(&ctx);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("kafka/server.properties") && p.contains("cannot stat")),
        "{problems:?}"
    );
}
