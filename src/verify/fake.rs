//! A scripted [`StackView`] and a [`Context`] over the project's own settings and compose file,
//! so unit tests drive the checks' decisions without Docker.

use std::collections::BTreeMap;
use std::path::Path;

use super::Context;
use crate::engine::containers::ProjectContainer;
use crate::engine::view::Call;
use crate::engine::{ContainerFacts, EngineError, FileStat, StackView};
use crate::secrets::SecretSet;
use crate::settings::{Phase, Settings};

/// What the fake engine answers. A missing entry is an engine error, as a real engine would give.
#[derive(Default, Clone)]
pub struct FakeView {
    pub containers: Vec<ProjectContainer>,
    pub env: BTreeMap<String, Vec<String>>,
    pub logs: BTreeMap<String, String>,
    pub images: BTreeMap<String, Vec<String>>,
    /// By `container id:path`.
    pub files: BTreeMap<String, (FileStat, Vec<u8>)>,
    pub facts: BTreeMap<String, ContainerFacts>,
}

fn missing(what: String) -> EngineError {
    EngineError::Api {
        call: what,
        message: "no such object (fake engine)".into(),
    }
}

fn answer<T: Clone + Send + 'static>(
    found: Option<&T>,
    what: impl FnOnce() -> String,
) -> Call<'static, T> {
    let result = found.cloned().ok_or_else(|| missing(what()));
    Box::pin(async move { result })
}

impl StackView for FakeView {
    fn project_containers<'a>(&'a self, _project: &'a str) -> Call<'a, Vec<ProjectContainer>> {
        let containers = self.containers.clone();
        Box::pin(async move { Ok(containers) })
    }
    fn container_env<'a>(&'a self, id: &'a str) -> Call<'a, Vec<String>> {
        answer(self.env.get(id), || format!("inspect {id}"))
    }
    fn stream_logs<'a>(
        &'a self,
        id: &'a str,
        sink: &'a mut (dyn FnMut(&[u8]) + Send),
    ) -> Call<'a, u64> {
        let log = self.logs.get(id).cloned();
        Box::pin(async move {
            let log = log.ok_or_else(|| missing(format!("logs {id}")))?;
            // In two pieces, so a pattern split between chunks is exercised too.
            let (head, tail) = log.as_bytes().split_at(log.len() / 2);
            sink(head);
            sink(tail);
            Ok(log.len() as u64)
        })
    }
    fn image_strings<'a>(&'a self, image: &'a str) -> Call<'a, Vec<String>> {
        answer(self.images.get(image), || format!("inspect image {image}"))
    }
    fn image_id<'a>(&'a self, image: &'a str) -> Call<'a, Option<String>> {
        let id = self
            .images
            .contains_key(image)
            .then(|| format!("sha256:{image}"));
        Box::pin(async move { Ok(id) })
    }
    fn read_files<'a>(&'a self, id: &'a str, path: &'a str) -> Call<'a, Vec<(String, Vec<u8>)>> {
        let found = self
            .files
            .get(&format!("{id}:{path}"))
            .map(|(_, data)| vec![(path.to_string(), data.clone())]);
        answer(found.as_ref(), || format!("copy {path} out of {id}"))
    }
    fn file_stat<'a>(&'a self, id: &'a str, path: &'a str) -> Call<'a, FileStat> {
        let found = self
            .files
            .get(&format!("{id}:{path}"))
            .map(|(stat, _)| *stat);
        answer(found.as_ref(), || format!("stat {path} in {id}"))
    }
    fn facts<'a>(&'a self, id: &'a str) -> Call<'a, ContainerFacts> {
        answer(self.facts.get(id), || format!("inspect {id}"))
    }
}

/// A running container of `service` with id `id-<service>`.
pub fn container(project: &str, service: &str) -> ProjectContainer {
    ProjectContainer {
        id: format!("id-{service}"),
        name: format!("{project}-{service}-1"),
        service: service.into(),
        hash: "h".into(),
        phase: Some(Phase::MAX),
        state: "running".into(),
        health: Some("healthy".into()),
        ports: Vec::new(),
    }
}

/// The project's settings with fixture secrets, at the highest phase, rooted at `root`.
pub fn context(root: &Path, view: FakeView) -> Context {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let settings = Settings::load(repo).expect("settings");
    let secrets = SecretSet::fixture(&settings.principals());
    let stack = crate::compose::load(repo, &settings, Phase::MAX).expect("compose");
    Context::new(root, settings, secrets, Phase::MAX, Box::new(view), stack).expect("context")
}
