//! `stackctl render --target kubernetes` through the real binary: the tree it writes, Secrets
//! only on request (0600, never printed), and its refusals.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::Project;

fn secret_values(p: &Project) -> Vec<String> {
    fs::read_dir(p.path().join("secrets"))
        .expect("secrets/")
        .map(|e| e.expect("entry").path())
        .filter(|f| f.extension().is_some_and(|e| e == "password"))
        .map(|f| {
            fs::read_to_string(f)
                .expect("secret")
                .trim_end()
                .to_string()
        })
        .collect()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn render(p: &Project, args: &[&str]) -> std::process::Output {
    let out = p
        .cmd()
        .args(["render", "--target", "kubernetes", "--out", "k8s"])
        .args(args)
        .output()
        .expect("run");
    let values = secret_values(p);
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(
            !values.iter().any(|v| text.contains(v.as_str())),
            "a secret was printed"
        );
    }
    out
}

#[test]
fn kubernetes_render_writes_the_tree_and_secrets_only_on_request() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    let out = render(&p, &["--namespace", "data"]);
    crate::assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("kubectl -n data create secret generic stackctl-kafka-app --from-file=password=secrets/kafka-app.password"), "{stdout}");
    assert!(
        stdout.contains("Kafka principal `schema_registry` is KafkaUser `schema-registry`"),
        "{stdout}"
    );
    let dir = p.path().join("k8s");
    let rel: Vec<String> = files(&dir)
        .iter()
        .map(|f| f.strip_prefix(&dir).expect("inside").display().to_string())
        .collect();
    assert_eq!(rel.len(), 24, "23 manifests and the file list: {rel:?}");
    assert!(rel.contains(&".stackctl-files".to_string()), "{rel:?}");
    assert!(
        rel.contains(&"kafka/users/schema-registry.yaml".to_string()),
        "{rel:?}"
    );
    assert!(!dir.join("secrets").exists());

    let out = render(&p, &["--namespace", "data", "--with-secrets"]);
    crate::assert_success(&out);
    let mode = |f: &Path| fs::metadata(f).expect("file").permissions().mode() & 0o777;
    assert_eq!(mode(&dir.join("secrets")), 0o700);
    let secrets = files(&dir.join("secrets"));
    assert_eq!(secrets.len(), 10);
    assert!(secrets.iter().all(|f| mode(f) == 0o600));
    let values = secret_values(&p);
    let app = fs::read_to_string(dir.join("secrets/stackctl-kafka-app.yaml")).expect("app Secret");
    assert!(
        values.iter().any(|v| app.contains(v.as_str())),
        "the Secret holds the value"
    );
    for f in files(&dir) {
        let text = fs::read_to_string(&f).expect("manifest");
        let holds = values.iter().any(|v| text.contains(v.as_str()));
        if !f.starts_with(dir.join("secrets")) {
            assert!(!holds, "secret value in {}", f.display());
        }
    }
    // Without --with-secrets again, the values are gone from the output directory.
    assert!(render(&p, &[]).status.success());
    assert!(!dir.join("secrets").exists());
}

#[test]
fn kubernetes_render_refusals_name_the_fix() {
    let p = Project::new();
    p.cmd().arg("init-secrets").assert().success();
    let out = render(&p, &["--phase", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the kubernetes target starts at phase 2"),
        "{stderr}"
    );
    let out = p
        .cmd()
        .args(["render", "--namespace", "x"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--namespace and --with-secrets apply to --target kubernetes only"),
        "{stderr}"
    );
    let out = render(&p, &["--namespace", "Bad_NS"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--namespace = `Bad_NS` cannot name a Kubernetes object"),
        "{stderr}"
    );
}
