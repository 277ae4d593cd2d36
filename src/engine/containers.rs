//! Networks, volumes and containers of one project, found by label.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HealthStatusEnum, HostConfig,
    HostConfigLogConfig, NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};

use super::{
    Engine, EngineError, LABEL_COMPOSE_NETWORK, LABEL_COMPOSE_VOLUME, LABEL_HASH, LABEL_PHASE,
    LABEL_PROJECT, LABEL_SERVICE, api, project_filter, project_labels, service_labels,
};
use crate::compose::{FileMount, Service, Stack};
use crate::settings::Phase;

/// A rendered file's bytes, to be copied into a container as its mount says.
#[derive(Debug, Clone, Copy)]
pub struct FileCopy<'a> {
    pub mount: &'a FileMount,
    pub contents: &'a [u8],
}

/// A container of this project, as listed by the engine.
#[derive(Debug, Clone)]
pub struct ProjectContainer {
    pub id: String,
    pub name: String,
    pub service: String,
    pub hash: String,
    /// The phase `up` created it for (its label); None for a container without a valid label.
    pub phase: Option<Phase>,
    pub state: String,
    pub health: Option<String>,
    pub ports: Vec<String>,
}

/// What a container's health looks like right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    /// No healthcheck: running is all we can know.
    Running,
    Unhealthy(String),
    Exited(i64),
}

pub fn network_name(project: &str, network: &str) -> String {
    format!("{project}_{network}")
}

pub fn volume_name(project: &str, volume: &str) -> String {
    format!("{project}_{volume}")
}

pub fn container_name(project: &str, service: &str) -> String {
    format!("{project}-{service}")
}

impl Engine {
    pub async fn ensure_network(&self, project: &str, network: &str) -> Result<(), EngineError> {
        let name = network_name(project, network);
        if self
            .docker
            .inspect_network(
                &name,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
            .is_ok()
        {
            return Ok(());
        }
        let mut labels = project_labels(project);
        labels.insert("io.stackctl.network".into(), network.into());
        labels.insert(LABEL_COMPOSE_NETWORK.into(), network.into());
        self.docker
            .create_network(NetworkCreateRequest {
                name: name.clone(),
                driver: Some("bridge".into()),
                labels: Some(labels),
                ..Default::default()
            })
            .await
            .map_err(api(format!("create network {name}")))?;
        Ok(())
    }

    pub async fn ensure_volume(&self, project: &str, volume: &str) -> Result<(), EngineError> {
        let name = volume_name(project, volume);
        if self.docker.inspect_volume(&name).await.is_ok() {
            return Ok(());
        }
        let mut labels = project_labels(project);
        labels.insert(LABEL_COMPOSE_VOLUME.into(), volume.into());
        self.docker
            .create_volume(VolumeCreateRequest {
                name: Some(name.clone()),
                labels: Some(labels),
                ..Default::default()
            })
            .await
            .map_err(api(format!("create volume {name}")))?;
        Ok(())
    }

    pub async fn project_containers(
        &self,
        project: &str,
    ) -> Result<Vec<ProjectContainer>, EngineError> {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&project_filter(project))
            .build();
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(api("list containers"))?;
        let mut out = Vec::new();
        for c in list {
            let labels = c.labels.unwrap_or_default();
            let status = c.status.unwrap_or_default();
            let health = if status.contains("(healthy)") {
                Some("healthy".to_string())
            } else if status.contains("(unhealthy)") {
                Some("unhealthy".to_string())
            } else if status.contains("health: starting") {
                Some("starting".to_string())
            } else {
                None
            };
            let ports = c
                .ports
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| {
                    p.public_port.map(|public| {
                        format!(
                            "{}:{}->{}",
                            p.ip.unwrap_or_default(),
                            public,
                            p.private_port
                        )
                    })
                })
                .collect();
            out.push(ProjectContainer {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .unwrap_or_default()
                    .first()
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default(),
                service: labels.get(LABEL_SERVICE).cloned().unwrap_or_default(),
                hash: labels.get(LABEL_HASH).cloned().unwrap_or_default(),
                phase: labels.get(LABEL_PHASE).and_then(|p| p.parse().ok()),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                health,
                ports,
            });
        }
        out.sort_by(|a, b| a.service.cmp(&b.service));
        Ok(out)
    }

    /// Creates the container for `service` (not started), with its files copied in.
    pub async fn create_service(
        &self,
        stack: &Stack,
        service: &Service,
        hash: &str,
        files: &[FileCopy<'_>],
    ) -> Result<String, EngineError> {
        let name = container_name(&stack.project, &service.name);
        let mut labels = service_labels(&stack.project, &service.name);
        labels.insert(LABEL_HASH.into(), hash.into());
        labels.insert(LABEL_PHASE.into(), stack.phase.to_string());
        let env: Vec<String> = service
            .environment
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let (exposed, port_bindings) = published_ports(service);
        let binds: Vec<String> = service
            .volumes
            .iter()
            .map(|v| {
                format!(
                    "{}:{}",
                    super::containers::volume_name(&stack.project, &v.volume),
                    v.target
                )
            })
            .collect();
        let healthcheck = service.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: Some(h.interval_ns),
            timeout: Some(h.timeout_ns),
            retries: Some(h.retries),
            start_period: Some(h.start_period_ns),
            // Probe every second while starting, where the engine supports it (API >= 1.44).
            start_interval: self.supports_start_interval().then_some(1_000_000_000),
        });
        // Below API 1.44 a container joins one network at creation; we only ever use one.
        let endpoints = service.networks.first().map(|n| {
            HashMap::from([(
                network_name(&stack.project, n),
                EndpointSettings {
                    aliases: Some(vec![service.name.clone()]),
                    ..Default::default()
                },
            )])
        });
        let body = ContainerCreateBody {
            image: Some(service.image.clone()),
            cmd: service.command.clone(),
            env: Some(env),
            labels: Some(labels),
            exposed_ports: Some(exposed),
            healthcheck,
            host_config: Some(HostConfig {
                port_bindings: Some(port_bindings),
                binds: Some(binds),
                nano_cpus: service.limits.as_ref().map(|l| l.nano_cpus),
                memory: service.limits.as_ref().map(|l| l.memory_bytes),
                security_opt: Some(vec!["no-new-privileges:true".into()]),
                restart_policy: service.restart.map(restart_policy),
                log_config: service.logging.as_ref().map(|l| HostConfigLogConfig {
                    typ: Some(l.driver.clone()),
                    config: Some(l.options.clone().into_iter().collect()),
                }),
                ..Default::default()
            }),
            networking_config: endpoints.map(|e| NetworkingConfig {
                endpoints_config: Some(e),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(api(format!("create container {name}")))?;
        self.copy_files(&created.id, files).await?;
        Ok(created.id)
    }

    /// Copies files into a created container with their owner and mode set in the archive, so a
    /// non-root service user can read a 0400 file that no one else can.
    async fn copy_files(&self, id: &str, files: &[FileCopy<'_>]) -> Result<(), EngineError> {
        if files.is_empty() {
            return Ok(());
        }
        let mut builder = tar::Builder::new(Vec::new());
        for FileCopy { mount: f, contents } in files {
            let data = *contents;
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(f.mode);
            header.set_uid(f.uid);
            header.set_gid(f.gid);
            header.set_mtime(0);
            header.set_cksum();
            builder
                .append_data(&mut header, f.target.trim_start_matches('/'), data)
                .map_err(|source| EngineError::Io {
                    action: "archive",
                    path: f.target.clone().into(),
                    source,
                })?;
        }
        let archive = builder.into_inner().map_err(|source| EngineError::Io {
            action: "archive files for",
            path: id.into(),
            source,
        })?;
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(id, Some(options), bollard::body_full(archive.into()))
            .await
            .map_err(api(format!("copy files into container {id}")))?;
        Ok(())
    }

    pub async fn start(&self, id: &str) -> Result<(), EngineError> {
        self.docker
            .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
            .await
            .map_err(api("start container"))
    }

    /// Everything the engine knows about one container.
    pub(super) async fn inspect(
        &self,
        id: &str,
    ) -> Result<bollard::models::ContainerInspectResponse, EngineError> {
        self.docker
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(api("inspect container"))
    }

    pub async fn health(&self, id: &str) -> Result<Health, EngineError> {
        let info = self.inspect(id).await?;
        let state = info.state.unwrap_or_default();
        // A crashed container that its restart policy is bringing back counts as exited: up
        // explains it at once instead of waiting for a health that may never come.
        if state.running != Some(true) || state.restarting == Some(true) {
            return Ok(Health::Exited(state.exit_code.unwrap_or(-1)));
        }
        Ok(
            match state.health.and_then(|h| h.status.map(|s| (s, h.log))) {
                None | Some((HealthStatusEnum::NONE | HealthStatusEnum::EMPTY, _)) => {
                    Health::Running
                }
                Some((HealthStatusEnum::HEALTHY, _)) => Health::Healthy,
                Some((HealthStatusEnum::UNHEALTHY, log)) => Health::Unhealthy(
                    log.and_then(|l| l.last().and_then(|r| r.output.clone()))
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                ),
                Some((HealthStatusEnum::STARTING, _)) => Health::Starting,
            },
        )
    }

    /// The host pid of a running container's main process (None when not running) and how
    /// often the engine restarted it: what a crash test needs (the Engine API's own kill counts
    /// as a manual stop, which a restart policy does not undo; a crash of the process does).
    pub async fn main_process(&self, id: &str) -> Result<(Option<i64>, i64), EngineError> {
        let info = self.inspect(id).await?;
        let pid = info.state.and_then(|s| s.pid).filter(|pid| *pid > 0);
        Ok((pid, info.restart_count.unwrap_or(0)))
    }

    /// Environment and labels of a container, for hygiene checks.
    pub async fn container_env(&self, id: &str) -> Result<Vec<String>, EngineError> {
        let info = self.inspect(id).await?;
        let mut out = info.config.and_then(|c| c.env).unwrap_or_default();
        out.extend(info.args.unwrap_or_default());
        Ok(out)
    }

    /// Stops a container (20 s grace period, then killed); a stopped one is left as it is.
    pub async fn stop(&self, id: &str) -> Result<(), EngineError> {
        let stop = StopContainerOptionsBuilder::default().t(20).build();
        match self.docker.stop_container(id, Some(stop)).await {
            // 304: already stopped.
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => Err(api("stop container")(e)),
        }
    }

    /// Stops (bounded grace period) and removes a container.
    pub async fn remove(&self, id: &str) -> Result<(), EngineError> {
        let stop = StopContainerOptionsBuilder::default().t(20).build();
        let _ = self.docker.stop_container(id, Some(stop)).await;
        // v: also the container's anonymous volumes (the Connect image inherits the broker's VOLUME);
        // named volumes such as kafka-data are never removed here.
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        self.docker
            .remove_container(id, Some(options))
            .await
            .map_err(api("remove container"))
    }

    pub async fn remove_project_networks(&self, project: &str) -> Result<Vec<String>, EngineError> {
        let options = ListNetworksOptionsBuilder::default()
            .filters(&project_filter(project))
            .build();
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(api("list networks"))?;
        let mut removed = Vec::new();
        for n in networks {
            if let Some(name) = n.name {
                self.docker
                    .remove_network(&name)
                    .await
                    .map_err(api(format!("remove network {name}")))?;
                removed.push(name);
            }
        }
        Ok(removed)
    }

    pub async fn remove_project_volumes(&self, project: &str) -> Result<Vec<String>, EngineError> {
        let options = ListVolumesOptionsBuilder::default()
            .filters(&project_filter(project))
            .build();
        let volumes = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(api("list volumes"))?;
        let mut removed = Vec::new();
        for v in volumes.volumes.unwrap_or_default() {
            if v.labels.get(LABEL_PROJECT).map(String::as_str) == Some(project) {
                self.docker
                    .remove_volume(
                        &v.name,
                        None::<bollard::query_parameters::RemoveVolumeOptions>,
                    )
                    .await
                    .map_err(api(format!("remove volume {}", v.name)))?;
                removed.push(v.name);
            }
        }
        Ok(removed)
    }
}

/// The exposed ports and host bindings of a service's published ports.
fn published_ports(service: &Service) -> (Vec<String>, HashMap<String, Option<Vec<PortBinding>>>) {
    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    let mut exposed = Vec::new();
    for p in &service.ports {
        let key = format!("{}/tcp", p.container_port);
        exposed.push(key.clone());
        port_bindings.insert(
            key,
            Some(vec![PortBinding {
                host_ip: Some(p.host_ip.clone()),
                host_port: Some(p.host_port.to_string()),
            }]),
        );
    }
    (exposed, port_bindings)
}

/// The engine's restart policy for the declared one.
fn restart_policy(r: crate::settings::RestartPolicy) -> RestartPolicy {
    RestartPolicy {
        name: Some(match r {
            crate::settings::RestartPolicy::No => RestartPolicyNameEnum::NO,
            crate::settings::RestartPolicy::Always => RestartPolicyNameEnum::ALWAYS,
            crate::settings::RestartPolicy::UnlessStopped => RestartPolicyNameEnum::UNLESS_STOPPED,
            crate::settings::RestartPolicy::OnFailure => RestartPolicyNameEnum::ON_FAILURE,
        }),
        maximum_retry_count: None,
    }
}
