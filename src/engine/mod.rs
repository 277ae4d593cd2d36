//! The Docker Engine API, through bollard: connection and version negotiation, images (present,
//! pull, build from a recipe, bootstrap of the base), networks, volumes and containers.
//! Everything stackctl creates carries the `io.stackctl.project` label and is found by it.

pub mod archive;
pub mod containers;
pub mod health_probe;
pub mod images;
pub mod logs;
pub mod time;
pub mod view;

pub use logs::{ContainerFacts, PublishedPort};
pub use view::{FileStat, StackView};

use std::collections::HashMap;

use bollard::Docker;

/// Label keys on everything stackctl creates.
pub const LABEL_PROJECT: &str = "io.stackctl.project";
pub const LABEL_SERVICE: &str = "io.stackctl.service";
pub const LABEL_HASH: &str = "io.stackctl.config-hash";
pub const LABEL_PHASE: &str = "io.stackctl.phase";
/// Docker Compose's own labels, set as well so `docker compose ls/ps` sees the stack.
pub const LABEL_COMPOSE_PROJECT: &str = "com.docker.compose.project";
pub const LABEL_COMPOSE_SERVICE: &str = "com.docker.compose.service";
pub const LABEL_COMPOSE_NETWORK: &str = "com.docker.compose.network";
pub const LABEL_COMPOSE_VOLUME: &str = "com.docker.compose.volume";

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "the Docker engine is unreachable ({0}). Start it (on Debian: `sudo ./scripts/ensure-docker.sh`) or set DOCKER_HOST"
    )]
    Unreachable(String),
    #[error("Docker API call `{call}` failed: {message}")]
    Api { call: String, message: String },
    #[error("{0}")]
    Build(String),
    #[error("{0}")]
    Bootstrap(String),
    #[error("{0}")]
    Service(String),
    // The cause is the error source; anyhow prints it after this message.
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

pub(crate) fn api(call: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> EngineError {
    let call = call.into();
    move |e| EngineError::Api {
        call,
        message: e.to_string(),
    }
}

/// A connected engine with a negotiated API version.
#[derive(Clone)]
pub struct Engine {
    pub(crate) docker: Docker,
    api_version: (u32, u32),
    server_version: String,
}

impl Engine {
    /// Connects through DOCKER_HOST (unix:// or tcp://) or the local socket and negotiates the API version down to
    /// what the server speaks (engine 20.10 speaks 1.41; Docker 25+ speaks 1.44 and later).
    pub async fn connect() -> Result<Engine, EngineError> {
        let docker =
            Docker::connect_with_defaults().map_err(|e| EngineError::Unreachable(e.to_string()))?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| EngineError::Unreachable(e.to_string()))?;
        let version = docker
            .version()
            .await
            .map_err(|e| EngineError::Unreachable(e.to_string()))?;
        let api = version.api_version.clone().ok_or_else(|| {
            EngineError::Unreachable("the engine did not report its API version".into())
        })?;
        let api_version = parse_api_version(&api).ok_or_else(|| {
            EngineError::Unreachable(format!(
                "the engine reported API version `{api}`, expected MAJOR.MINOR"
            ))
        })?;
        Ok(Engine {
            docker,
            api_version,
            server_version: version.version.unwrap_or_else(|| "unknown".into()),
        })
    }

    /// The server's API version, e.g. (1, 41).
    pub fn api_version(&self) -> (u32, u32) {
        self.api_version
    }

    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// Healthcheck `start_interval` arrived with API 1.44; older engines reject it.
    pub fn supports_start_interval(&self) -> bool {
        self.api_version >= (1, 44)
    }
}

/// `1.41` → (1, 41).
fn parse_api_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Labels identifying an object of `project`: stackctl's own, and Compose's project label.
pub fn project_labels(project: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_PROJECT.to_string(), project.to_string()),
        (LABEL_COMPOSE_PROJECT.to_string(), project.to_string()),
    ])
}

/// Labels of the container of `service` in `project` (Compose's service label included).
pub fn service_labels(project: &str, service: &str) -> HashMap<String, String> {
    let mut labels = project_labels(project);
    labels.insert(LABEL_SERVICE.to_string(), service.to_string());
    labels.insert(LABEL_COMPOSE_SERVICE.to_string(), service.to_string());
    // `docker compose ps` lists only service containers that are not one-off runs.
    labels.insert("com.docker.compose.oneoff".into(), "False".into());
    labels.insert("com.docker.compose.container-number".into(), "1".into());
    labels
}

/// A label filter for list calls.
pub fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{LABEL_PROJECT}={project}")],
    )])
}

/// What orchestration needs from a container engine. [`Engine`] is the real one (Docker through
/// bollard); unit tests of `up`/`down` use a scripted fake.
#[allow(async_fn_in_trait)]
pub trait ContainerEngine: Sync {
    fn api_version(&self) -> (u32, u32);
    async fn image_id(&self, image: &str) -> Option<String>;
    async fn try_pull(&self, image: &str, progress: &dyn crate::progress::Progress) -> bool;
    async fn ensure_base(
        &self,
        progress: &dyn crate::progress::Progress,
    ) -> Result<(), EngineError>;
    async fn build(
        &self,
        request: &images::BuildRequest<'_>,
        progress: &dyn crate::progress::Progress,
    ) -> Result<String, EngineError>;
    async fn ensure_network(&self, project: &str, network: &str) -> Result<(), EngineError>;
    async fn ensure_volume(&self, project: &str, volume: &str) -> Result<(), EngineError>;
    async fn project_containers(
        &self,
        project: &str,
    ) -> Result<Vec<containers::ProjectContainer>, EngineError>;
    async fn create_service(
        &self,
        stack: &crate::compose::Stack,
        service: &crate::compose::Service,
        hash: &str,
        files: &[containers::FileCopy<'_>],
    ) -> Result<String, EngineError>;
    async fn start(&self, id: &str) -> Result<(), EngineError>;
    async fn stop(&self, id: &str) -> Result<(), EngineError>;
    async fn remove_image(&self, image: &str) -> Result<bool, EngineError>;
    async fn health(&self, id: &str) -> Result<containers::Health, EngineError>;
    /// Runs the container's own health command once (see [`health_probe`]). An engine that cannot
    /// says it has none, and the caller waits for the engine's own verdict.
    async fn probe_health(&self, _id: &str) -> Result<health_probe::HealthProbe, EngineError> {
        Ok(health_probe::HealthProbe::NoCommand)
    }
    async fn logs(&self, id: &str, tail: Option<usize>) -> Result<String, EngineError>;
    async fn remove(&self, id: &str) -> Result<(), EngineError>;
    async fn remove_project_networks(&self, project: &str) -> Result<Vec<String>, EngineError>;
    async fn remove_project_volumes(&self, project: &str) -> Result<Vec<String>, EngineError>;
}

impl ContainerEngine for Engine {
    fn api_version(&self) -> (u32, u32) {
        Engine::api_version(self)
    }
    async fn image_id(&self, image: &str) -> Option<String> {
        Engine::image_id(self, image).await
    }
    async fn try_pull(&self, image: &str, progress: &dyn crate::progress::Progress) -> bool {
        Engine::try_pull(self, image, progress).await
    }
    async fn ensure_base(
        &self,
        progress: &dyn crate::progress::Progress,
    ) -> Result<(), EngineError> {
        Engine::ensure_base(self, progress).await
    }
    async fn build(
        &self,
        request: &images::BuildRequest<'_>,
        progress: &dyn crate::progress::Progress,
    ) -> Result<String, EngineError> {
        Engine::build(self, request, progress).await
    }
    async fn ensure_network(&self, project: &str, network: &str) -> Result<(), EngineError> {
        Engine::ensure_network(self, project, network).await
    }
    async fn ensure_volume(&self, project: &str, volume: &str) -> Result<(), EngineError> {
        Engine::ensure_volume(self, project, volume).await
    }
    async fn project_containers(
        &self,
        project: &str,
    ) -> Result<Vec<containers::ProjectContainer>, EngineError> {
        Engine::project_containers(self, project).await
    }
    async fn create_service(
        &self,
        stack: &crate::compose::Stack,
        service: &crate::compose::Service,
        hash: &str,
        files: &[containers::FileCopy<'_>],
    ) -> Result<String, EngineError> {
        Engine::create_service(self, stack, service, hash, files).await
    }
    async fn start(&self, id: &str) -> Result<(), EngineError> {
        Engine::start(self, id).await
    }
    async fn stop(&self, id: &str) -> Result<(), EngineError> {
        Engine::stop(self, id).await
    }
    async fn remove_image(&self, image: &str) -> Result<bool, EngineError> {
        Engine::remove_image(self, image).await
    }
    async fn health(&self, id: &str) -> Result<containers::Health, EngineError> {
        Engine::health(self, id).await
    }
    async fn probe_health(&self, id: &str) -> Result<health_probe::HealthProbe, EngineError> {
        Engine::probe_health(self, id).await
    }
    async fn logs(&self, id: &str, tail: Option<usize>) -> Result<String, EngineError> {
        Engine::logs(self, id, tail).await
    }
    async fn remove(&self, id: &str) -> Result<(), EngineError> {
        Engine::remove(self, id).await
    }
    async fn remove_project_networks(&self, project: &str) -> Result<Vec<String>, EngineError> {
        Engine::remove_project_networks(self, project).await
    }
    async fn remove_project_volumes(&self, project: &str) -> Result<Vec<String>, EngineError> {
        Engine::remove_project_volumes(self, project).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn objects_carry_the_compose_labels_too() {
        let labels = super::service_labels("p", "kafka");
        assert_eq!(labels["io.stackctl.project"], "p");
        assert_eq!(labels["com.docker.compose.project"], "p");
        assert_eq!(labels["io.stackctl.service"], "kafka");
        assert_eq!(labels["com.docker.compose.service"], "kafka");
        assert_eq!(super::project_labels("p").len(), 2);
    }

    #[test]
    fn api_versions_parse_or_refuse() {
        assert_eq!(super::parse_api_version("1.41"), Some((1, 41)));
        assert_eq!(super::parse_api_version("1.x"), None);
        assert_eq!(super::parse_api_version(""), None);
    }
}
