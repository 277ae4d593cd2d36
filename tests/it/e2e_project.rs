//! The end-to-end tests' own project: its name and host ports differ from a developer's stack,
//! and the 3-node test's ports from the 1-node test's.

use crate::{Project, repo_root};

/// The e2e stack's project name: STACKCTL_E2E_PROJECT, default `stackctl_e2e`.
pub(crate) fn e2e_project_name() -> String {
    std::env::var("STACKCTL_E2E_PROJECT").unwrap_or_else(|_| "stackctl_e2e".into())
}

/// The e2e stack's host ports are this base plus 9092, 8081, 8083, 8123 (and 9000 for ClickHouse's
/// native port): STACKCTL_E2E_PORT_BASE, default 30000 (39092, 38081, …), so two e2e runs on one
/// machine (or a developer's stack on 1xxxx) do not collide.
fn e2e_port_base() -> u16 {
    match std::env::var("STACKCTL_E2E_PORT_BASE") {
        Ok(text) => text
            .parse()
            .ok()
            .filter(|base| *base <= 50000)
            .expect("STACKCTL_E2E_PORT_BASE: a number up to 50000"),
        Err(_) => 30000,
    }
}

/// A project of its own (name and host ports differ from a developer's stack).
pub(crate) fn e2e_project() -> Project {
    e2e_project_at(e2e_port_base())
}

/// The 3-node test's host ports: 200 above the 1-node test's, so neither depends on the other's
/// `down` (a failed test leaves its stack up for inspection).
pub(crate) fn e2e_cluster_port_base() -> u16 {
    e2e_port_base() + 200
}

/// A project whose host ports are `base` plus the defaults' last four digits.
pub(crate) fn e2e_project_at(base: u16) -> Project {
    let p = Project::new();
    let settings = std::fs::read_to_string(p.path().join("configs/stack.yaml")).expect("settings");
    let settings = settings
        .replace(
            "project: stackctl",
            &format!("project: {}", e2e_project_name()),
        )
        .replace("host_port: 19092", &format!("host_port: {}", base + 9092))
        .replace("host_port: 18081", &format!("host_port: {}", base + 8081))
        .replace("host_port: 18083", &format!("host_port: {}", base + 8083))
        .replace(
            "host_http_port: 18123",
            &format!("host_http_port: {}", base + 8123),
        )
        .replace(
            "host_native_port: 19000",
            &format!("host_native_port: {}", base + 9000),
        );
    std::fs::write(p.path().join("configs/stack.yaml"), settings).expect("write settings");
    // The recipes, as build contexts.
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(repo_root().join("images"))
        .arg(p.path())
        .status()
        .expect("cp");
    assert!(status.success());
    p
}
