//! The config hash that decides whether a container must be recreated. It covers exactly the
//! service's definition (in a canonical JSON form of stackctl's own making, every field named,
//! so neither a toolchain's `Debug` output nor a dependency bump moves it), the id of the image
//! it runs, and the mounted files' targets, owners, modes and bytes. The build context's location
//! on disk is left out: what it builds is in the image id.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::compose::{
    FileMount, Healthcheck, Limits, LogConfig, PortBinding, Service, VolumeMount,
};
use crate::engine::containers::FileCopy;

/// Bump when the canonical form changes meaning (every container is then recreated once).
const FORM: &str = "stackctl-config-hash/2";

/// The hash of `service` running `image_id` with `files`.
pub fn config_hash(service: &Service, image_id: &str, files: &[FileCopy<'_>]) -> String {
    let files: Vec<Value> = files
        .iter()
        .map(|f| {
            json!({
                "mount": mount(f.mount),
                "sha256": hex::encode(Sha256::digest(f.contents)),
            })
        })
        .collect();
    let canonical = json!({
        "form": FORM,
        "service": definition(service),
        "image_id": image_id,
        "files": files,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Every field of the definition, destructured so that a new field cannot be forgotten here.
fn definition(service: &Service) -> Value {
    let Service {
        name,
        node,
        image,
        build_context: _,
        build_args,
        command,
        environment,
        files,
        volumes,
        ports,
        healthcheck,
        depends_on,
        limits,
        restart,
        networks,
        logging,
    } = service;
    json!({
        "name": name,
        "node": node,
        "image": image,
        "build_args": build_args,
        "command": command,
        "environment": environment,
        "files": files.iter().map(mount).collect::<Vec<_>>(),
        "volumes": volumes.iter().map(volume).collect::<Vec<_>>(),
        "ports": ports.iter().map(port).collect::<Vec<_>>(),
        "healthcheck": healthcheck.as_ref().map(health),
        "depends_on": depends_on,
        "limits": limits.as_ref().map(|Limits { nano_cpus, memory_bytes }| {
            json!({ "nano_cpus": nano_cpus, "memory_bytes": memory_bytes })
        }),
        "restart": restart.map(super::super::settings::RestartPolicy::as_str),
        "networks": networks,
        "logging": logging.as_ref().map(|LogConfig { driver, options }| {
            json!({ "driver": driver, "options": options })
        }),
    })
}

fn mount(m: &FileMount) -> Value {
    let FileMount {
        name,
        file,
        target,
        uid,
        gid,
        mode,
    } = m;
    json!({
        "name": name,
        "file": file.spec().path,
        "target": target,
        "uid": uid,
        "gid": gid,
        "mode": mode,
    })
}

fn volume(v: &VolumeMount) -> Value {
    let VolumeMount { volume, target } = v;
    json!({ "volume": volume, "target": target })
}

fn port(p: &PortBinding) -> Value {
    let PortBinding {
        host_ip,
        host_port,
        container_port,
    } = p;
    json!({ "host_ip": host_ip, "host_port": host_port, "container_port": container_port })
}

fn health(h: &Healthcheck) -> Value {
    let Healthcheck {
        test,
        interval_ns,
        timeout_ns,
        retries,
        start_period_ns,
    } = h;
    json!({
        "test": test,
        "interval_ns": interval_ns,
        "timeout_ns": timeout_ns,
        "retries": retries,
        "start_period_ns": start_period_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Phase, Settings};

    #[test]
    fn the_hash_is_a_fixed_function_of_definition_image_and_files() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let settings = Settings::load(root).expect("settings");
        let stack = crate::compose::load(root, &settings, Phase::MAX).expect("compose");
        let kafka = stack.service("kafka").expect("kafka");
        let files: Vec<FileCopy<'_>> = kafka
            .files
            .iter()
            .map(|mount| FileCopy {
                mount,
                contents: b"x",
            })
            .collect();
        let hash = config_hash(kafka, "sha256:abc", &files);
        assert_eq!(hash, config_hash(kafka, "sha256:abc", &files));
        assert_ne!(hash, config_hash(kafka, "sha256:abd", &files));
        let mut moved = kafka.clone();
        moved.build_context = Some("/elsewhere/images/kafka".into());
        assert_eq!(hash, config_hash(&moved, "sha256:abc", &files));
        let mut changed = kafka.clone();
        changed.environment.insert("X".into(), "1".into());
        assert_ne!(hash, config_hash(&changed, "sha256:abc", &files));
        // The canonical form is plain JSON with named fields, not a `Debug` rendering.
        let text = definition(kafka).to_string();
        assert!(
            text.starts_with('{') && text.contains("\"name\":\"kafka\""),
            "{text}"
        );
    }
}
