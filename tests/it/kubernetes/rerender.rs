//! A re-render into the same `--out` removes the manifests of an earlier render that this one no
//! longer writes — and nothing else: the user's own files stay, a tampered file list deletes
//! nothing, and an interrupted render leaves every file it wrote listed for the next one.

use std::fs;
use std::path::Path;

use crate::Project;

const LIST: &str = ".stackctl-files";

fn render(p: &Project, args: &[&str]) -> std::process::Output {
    p.cmd()
        .args(["render", "--target", "kubernetes", "--out", "k8s"])
        .args(args)
        .output()
        .expect("run")
}

fn ok(out: &std::process::Output) -> String {
    crate::assert_success(out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The paths in the file list, in order.
fn listed(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join(LIST))
        .expect("file list")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect()
}

fn rename_app_principal(p: &Project, to: &str) {
    let path = p.path().join("configs/stack.yaml");
    let text = fs::read_to_string(&path).expect("settings");
    assert!(text.contains("    app: app\n"));
    fs::write(
        &path,
        text.replace("    app: app\n", &format!("    app: {to}\n")),
    )
    .expect("write");
}

fn no_temp_files(dir: &Path) {
    for entry in fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        assert!(
            !name.starts_with(".stackctl-tmp-"),
            "left behind: {}",
            path.display()
        );
        if path.is_dir() {
            no_temp_files(&path);
        }
    }
}

#[test]
fn kubernetes_rerender_removes_its_stale_files_and_only_those() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    let dir = p.path().join("k8s");
    // The user's own files, one of them among stackctl's.
    fs::create_dir_all(dir.join("kafka/users")).expect("mkdir");
    fs::write(dir.join("kustomization.yaml"), "resources: []\n").expect("write");
    fs::write(dir.join("kafka/users/extra.yaml"), "# mine\n").expect("write");

    ok(&render(&p, &["--with-secrets"]));
    let first = listed(&dir);
    assert_eq!(first.len(), 33, "{first:?}");
    assert!(first.contains(&"kafka/users/app.yaml".to_string()));
    assert!(first.contains(&"secrets/stackctl-kafka-app.yaml".to_string()));
    assert!(
        !first
            .iter()
            .any(|f| f == "kustomization.yaml" || f == "kafka/users/extra.yaml")
    );

    // The principal renamed, no --with-secrets: the old KafkaUser and the Secrets go.
    rename_app_principal(&p, "shop");
    let stdout = ok(&render(&p, &[]));
    assert!(
        stdout.contains("kafka/users/app.yaml") && stdout.contains("removed (an earlier render's)"),
        "{stdout}"
    );
    assert!(!dir.join("kafka/users/app.yaml").exists());
    assert!(dir.join("kafka/users/shop.yaml").exists());
    assert!(!dir.join("secrets").exists(), "emptied secrets/ removed");
    assert_eq!(
        fs::read_to_string(dir.join("kustomization.yaml")).expect("user file"),
        "resources: []\n"
    );
    assert_eq!(
        fs::read_to_string(dir.join("kafka/users/extra.yaml")).expect("user file"),
        "# mine\n"
    );
    let second = listed(&dir);
    assert_eq!(second.len(), 23, "{second:?}");
    assert!(second.contains(&"kafka/users/shop.yaml".to_string()));
    assert!(
        !second
            .iter()
            .any(|f| f == "kafka/users/app.yaml" || f.starts_with("secrets/"))
    );
    no_temp_files(&dir);

    // The same render again removes nothing.
    let stdout = ok(&render(&p, &[]));
    assert!(!stdout.contains("removed"), "{stdout}");
    assert_eq!(listed(&dir), second);
}

#[test]
fn kubernetes_rerender_after_an_interrupted_render_still_removes_stale_files() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    let dir = p.path().join("k8s");
    ok(&render(&p, &[]));

    // The new KafkaUser's file cannot be written (a directory is in its place): the render
    // fails after writing some files, with both the old and the new user listed.
    rename_app_principal(&p, "shop");
    fs::create_dir_all(dir.join("kafka/users/shop.yaml")).expect("mkdir");
    let out = render(&p, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kafka/users/shop.yaml"), "{stderr}");
    let listed_now = listed(&dir);
    assert!(listed_now.contains(&"kafka/users/app.yaml".to_string()));
    assert!(listed_now.contains(&"kafka/users/shop.yaml".to_string()));

    fs::remove_dir(dir.join("kafka/users/shop.yaml")).expect("rmdir");
    ok(&render(&p, &[]));
    assert!(!dir.join("kafka/users/app.yaml").exists());
    assert!(dir.join("kafka/users/shop.yaml").is_file());
}

#[test]
fn kubernetes_rerender_refuses_a_tampered_file_list() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    let dir = p.path().join("k8s");
    ok(&render(&p, &[]));
    fs::write(p.path().join("outside.yaml"), "keep\n").expect("write");
    let mut text = fs::read_to_string(dir.join(LIST)).expect("list");
    text.push_str("../outside.yaml\n");
    fs::write(dir.join(LIST), &text).expect("write");
    let line = text.lines().count();

    let out = render(&p, &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "k8s/.stackctl-files line {line}: `../outside.yaml` is not a file stackctl writes"
        )),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(p.path().join("outside.yaml")).expect("kept"),
        "keep\n"
    );
}
