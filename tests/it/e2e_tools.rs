//! Part of the end-to-end test: the everyday tools (kcat, clickhouse-client, docker's Compose
//! labels, exec) against the running stack.

use std::path::Path;

use crate::Project;
use crate::e2e::run;
use crate::e2e_project::e2e_project_name;

/// The client configs `status --clients` lists work with the real `kcat` and `clickhouse-client`
/// (scripts/test.sh installs both from Debian), the containers carry Compose's labels, and
/// `exec` passes the command's exit code through.
pub fn everyday_tools_work_with_the_rendered_configs(p: &Project) {
    let status = run(p, &["status", "--clients", "--format", "json"]);
    assert_eq!(status.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    let clients = report["clients"].as_array().expect("clients");
    let path = |c: &serde_json::Value| p.path().join(c["path"].as_str().expect("path"));
    let kcat: Vec<_> = clients
        .iter()
        .filter(|c| {
            c["path"]
                .as_str()
                .is_some_and(|s| s.ends_with(".kcat.conf"))
        })
        .collect();
    let clickhouse: Vec<_> = clients
        .iter()
        .filter(|c| {
            c["path"].as_str().is_some_and(|s| {
                Path::new(s)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
            })
        })
        .collect();
    assert_eq!((kcat.len(), clickhouse.len()), (4, 3), "{clients:?}");
    for c in kcat.iter().chain(&clickhouse) {
        assert_eq!(c["present"], true, "{c}");
        let mode = std::fs::metadata(path(c))
            .expect("client config")
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600,
            "{c}"
        );
    }
    for c in &kcat {
        let out = std::process::Command::new("kcat")
            .arg("-F")
            .arg(path(c))
            .args(["-L", "-m", "15"])
            .output()
            .expect("`kcat` on PATH (scripts/test.sh installs it: apt-get install kcat)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        eprintln!("$ kcat -F {} -L\n{stdout}", path(c).display());
        assert!(
            out.status.success(),
            "{c}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("1 brokers:"), "{stdout}");
        // Each principal sees the topics its ACLs let it describe; admin sees them all.
        if c["principal"] == "kafka-admin" {
            assert!(stdout.contains("topic \"events\""), "{stdout}");
        }
    }
    for c in &clickhouse {
        let out = std::process::Command::new("clickhouse-client")
            .arg("--config-file")
            .arg(path(c))
            .args(["-q", "SELECT 1"])
            .output()
            .expect("`clickhouse-client` on PATH (scripts/test.sh installs it)");
        assert!(
            out.status.success(),
            "{c}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1", "{c}");
    }
    // Compose interop: `docker compose ls/ps` find containers by these labels.
    let out = std::process::Command::new("docker")
        .args(["ps", "-q", "--filter"])
        .arg(format!(
            "label=com.docker.compose.project={}",
            e2e_project_name()
        ))
        .args(["--filter", "label=com.docker.compose.service=kafka"])
        .output()
        .expect("docker CLI");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let exec = run(p, &["exec", "kafka", "--", "sh", "-c", "exit 3"]);
    assert_eq!(exec.status.code(), Some(3));
}
