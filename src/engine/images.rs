//! Images: present locally, else pulled, else built from the recipe under images/. The base
//! `debian:bookworm-slim` is bootstrapped with debootstrap when it can be neither found nor pulled.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use futures_util::StreamExt;

use super::{Engine, EngineError, api};
use crate::progress::Progress;

/// The base every recipe builds from.
pub const BASE_IMAGE: &str = "debian:bookworm-slim";

/// One image build.
#[derive(Clone, Copy)]
pub struct BuildRequest<'a> {
    pub service: &'a str,
    /// The recipe directory (for messages).
    pub context: &'a Path,
    /// The build context as sent ([`build_context`]).
    pub context_tar: &'a [u8],
    /// The tag of the result; `None` for a stage built only to fill the layer cache.
    pub tag: Option<&'a str>,
    /// Build only up to this stage.
    pub target: Option<&'a str>,
    pub build_args: &'a HashMap<String, String>,
    pub labels: &'a HashMap<String, String>,
    /// Show every build line, not only the steps.
    pub verbose: bool,
}

/// Where a build's extra CA certificates come from.
#[derive(Debug, Clone)]
pub struct CaCertificates {
    pub files: Vec<PathBuf>,
}

impl CaCertificates {
    /// The host's extra CAs (`/usr/local/share/ca-certificates/**/*.crt`), when there are any.
    pub fn from_host() -> CaCertificates {
        let mut files = Vec::new();
        collect_crt(Path::new("/usr/local/share/ca-certificates"), &mut files);
        files.sort();
        CaCertificates { files }
    }

    pub fn none() -> CaCertificates {
        CaCertificates { files: Vec::new() }
    }
}

fn collect_crt(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_crt(&path, out);
        } else if path.extension().is_some_and(|e| e == "crt") {
            out.push(path);
        }
    }
}

impl Engine {
    /// Whether `image` exists locally; returns its ID.
    pub async fn image_id(&self, image: &str) -> Option<String> {
        self.docker
            .inspect_image(image)
            .await
            .ok()
            .and_then(|i| i.id)
    }

    /// An image's id and size in bytes, when it is present.
    pub async fn image_summary(&self, image: &str) -> Option<(String, Option<i64>)> {
        let info = self.docker.inspect_image(image).await.ok()?;
        Some((info.id?, info.size))
    }

    /// Removes the tag `image` (the image itself once no tag and no container holds it).
    /// `Ok(false)` when there is no such image.
    pub async fn remove_image(&self, image: &str) -> Result<bool, EngineError> {
        match self
            .docker
            .remove_image(
                image,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(api(format!("remove image {image}"))(e)),
        }
    }

    /// Every string an image carries in its config and history (env, cmd, labels, build steps),
    /// for the hygiene check that no secret was baked in.
    pub async fn image_strings(&self, image: &str) -> Result<Vec<String>, EngineError> {
        let inspect = self
            .docker
            .inspect_image(image)
            .await
            .map_err(api(format!("inspect image {image}")))?;
        let mut out = Vec::new();
        if let Some(config) = inspect.config {
            out.extend(config.env.unwrap_or_default());
            out.extend(config.cmd.unwrap_or_default());
            out.extend(config.entrypoint.unwrap_or_default());
            out.extend(
                config
                    .labels
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}")),
            );
        }
        let history = self
            .docker
            .image_history(image)
            .await
            .map_err(api(format!("read history of {image}")))?;
        out.extend(history.into_iter().map(|h| h.created_by));
        Ok(out)
    }

    /// Tries to pull `image`; Ok(false) when the registry is unreachable or does not have it.
    pub async fn try_pull(&self, image: &str, progress: &dyn Progress) -> bool {
        let (repo, tag) = image.rsplit_once(':').unwrap_or((image, "latest"));
        let options = CreateImageOptionsBuilder::default()
            .from_image(repo)
            .tag(tag)
            .build();
        let mut stream = self.docker.create_image(Some(options), None, None);
        progress.line(image, "pulling");
        while let Some(item) = stream.next().await {
            match item {
                Ok(_) => {}
                Err(e) => {
                    progress.line(
                        image,
                        &format!("pull failed: {}", first_line(&e.to_string())),
                    );
                    return false;
                }
            }
        }
        self.image_id(image).await.is_some()
    }

    /// Makes sure the base image exists: present, else pulled, else bootstrapped.
    pub async fn ensure_base(&self, progress: &dyn Progress) -> Result<(), EngineError> {
        if self.image_id(BASE_IMAGE).await.is_some() {
            return Ok(());
        }
        if self.try_pull(BASE_IMAGE, progress).await {
            return Ok(());
        }
        progress.line(
            BASE_IMAGE,
            "not pullable here: bootstrapping it with debootstrap (about 30 s)",
        );
        self.bootstrap_base(progress).await
    }

    async fn bootstrap_base(&self, progress: &dyn Progress) -> Result<(), EngineError> {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string());
        if uid.as_deref() != Some("0") {
            return Err(EngineError::Bootstrap(format!(
                "{BASE_IMAGE} must be bootstrapped with debootstrap, which needs root: run `sudo stackctl images build` (or `sudo ./scripts/ensure-docker.sh` first)"
            )));
        }
        if Command::new("debootstrap")
            .arg("--version")
            .output()
            .is_err()
        {
            return Err(EngineError::Bootstrap(
                "debootstrap is missing: run `sudo apt-get install -y debootstrap` (or `sudo ./scripts/ensure-docker.sh`)".into(),
            ));
        }
        let tmp = tempfile::tempdir().map_err(|source| EngineError::Io {
            action: "create a temporary directory for",
            path: PathBuf::from("debootstrap"),
            source,
        })?;
        let rootfs = tmp.path().join("rootfs");
        let root_arg = rootfs.to_string_lossy().to_string();
        let run = tokio::process::Command::new("debootstrap")
            .args(["--variant=minbase", "bookworm", &root_arg])
            .output()
            .await
            .map_err(|source| EngineError::Io {
                action: "run debootstrap into",
                path: rootfs.clone(),
                source,
            })?;
        if !run.status.success() {
            let log = String::from_utf8_lossy(&run.stdout);
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            return Err(EngineError::Bootstrap(format!(
                "debootstrap failed: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            )));
        }
        slim_rootfs(&rootfs)?;
        progress.line(BASE_IMAGE, "importing the bootstrapped root file system");
        let tar = tokio::process::Command::new("tar")
            .args(["--numeric-owner", "-C", &root_arg, "-c", "."])
            .output()
            .await
            .map_err(|source| EngineError::Io {
                action: "archive",
                path: rootfs.clone(),
                source,
            })?;
        if !tar.status.success() {
            return Err(EngineError::Bootstrap(format!(
                "tar of the bootstrapped root failed: {}",
                String::from_utf8_lossy(&tar.stderr).trim()
            )));
        }
        let (repo, tag) = BASE_IMAGE.split_once(':').unwrap_or((BASE_IMAGE, "latest"));
        let options = CreateImageOptionsBuilder::default()
            .from_src("-")
            .repo(repo)
            .tag(tag)
            .build();
        let mut stream = self.docker.create_image(
            Some(options),
            Some(bollard::body_full(tar.stdout.into())),
            None,
        );
        while let Some(item) = stream.next().await {
            item.map_err(api("import the bootstrapped base image"))?;
        }
        progress.line(BASE_IMAGE, "bootstrapped and imported");
        Ok(())
    }

    /// Builds an image from its recipe, streaming step lines to `progress`; returns its ID.
    pub async fn build(
        &self,
        request: &BuildRequest<'_>,
        progress: &dyn Progress,
    ) -> Result<String, EngineError> {
        let BuildRequest {
            service,
            context,
            tag,
            target,
            verbose,
            ..
        } = *request;
        let what = tag.or(target).unwrap_or(service);
        let mut options = BuildImageOptionsBuilder::default()
            .rm(true)
            .forcerm(true)
            .buildargs(request.build_args)
            .labels(request.labels);
        if let Some(tag) = tag {
            options = options.t(tag);
        }
        if let Some(target) = target {
            options = options.target(target);
        }
        // The network of the build's RUN steps: Docker's default bridge unless set (`host` for an
        // engine without one).
        if let Ok(network) = std::env::var("STACKCTL_BUILD_NETWORK")
            && !network.trim().is_empty()
        {
            options = options.networkmode(network.trim());
        }
        let body = bollard::body_full(request.context_tar.to_vec().into());
        let mut stream = self.docker.build_image(options.build(), None, Some(body));
        let mut tail: Vec<String> = Vec::new();
        let mut built_id = None;
        let failed = |message: &str, tail: &[String]| {
            EngineError::Build(format!(
                "building {what} from {} failed: {message}{}",
                context.display(),
                if tail.is_empty() {
                    String::new()
                } else {
                    format!("\n  last output:\n    {}", tail.join("\n    "))
                }
            ))
        };
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| failed(first_line(&e.to_string()), &tail))?;
            if let Some(detail) = info.error_detail {
                return Err(failed(&detail.message.unwrap_or_default(), &tail));
            }
            if let Some(id) = info.aux.and_then(|a| a.id) {
                built_id = Some(id);
            }
            for line in info.stream.iter().flat_map(|t| t.lines()) {
                let line = line.trim_end();
                if line.is_empty() {
                    continue;
                }
                tail.push(line.to_string());
                if tail.len() > 12 {
                    tail.remove(0);
                }
                if verbose || line.starts_with("Step ") {
                    progress.line(service, &step_line(target, line));
                }
            }
        }
        let id = match tag {
            Some(tag) => self.image_id(tag).await,
            None => built_id,
        };
        id.ok_or_else(|| {
            EngineError::Build(format!(
                "the build of {what} ended without producing the image"
            ))
        })
    }
}

/// A build line for the progress of one service: `Step 3/17 : RUN apt-get …`, cut to one
/// readable line, prefixed with the stage when only a stage is built.
fn step_line(target: Option<&str>, line: &str) -> String {
    const WIDTH: usize = 100;
    let mut text: String = line.chars().take(WIDTH).collect();
    if line.chars().count() > WIDTH {
        text.push('…');
    }
    match target {
        Some(stage) => format!("stage {stage}: {text}"),
        None => text,
    }
}

/// Makes a debootstrapped tree behave like Docker's slim image: updates and security sources
/// (derived from the mirror debootstrap used), apt caches cleaned after every install.
fn slim_rootfs(rootfs: &Path) -> Result<(), EngineError> {
    let io = |action: &'static str, path: PathBuf| {
        move |source| EngineError::Io {
            action,
            path,
            source,
        }
    };
    let sources = rootfs.join("etc/apt/sources.list");
    let text = std::fs::read_to_string(&sources).map_err(io("read", sources.clone()))?;
    let mirror = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("deb ")
                .and_then(|r| r.split_whitespace().next())
        })
        .map(str::to_string);
    if let Some(mirror) = mirror {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&sources)
            .map_err(io("open", sources.clone()))?;
        writeln!(f, "deb {mirror} bookworm-updates main")
            .and_then(|()| writeln!(f, "deb {mirror}-security bookworm-security main"))
            .map_err(io("write", sources.clone()))?;
    }
    let clean = rootfs.join("etc/apt/apt.conf.d/docker-clean");
    std::fs::write(
        &clean,
        "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };\n\
         APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };\n\
         Dir::Cache::pkgcache \"\";\nDir::Cache::srcpkgcache \"\";\n",
    )
    .map_err(io("write", clean.clone()))?;
    for dir in ["var/cache/apt/archives", "var/lib/apt/lists"] {
        let path = rootfs.join(dir);
        if let Ok(entries) = std::fs::read_dir(&path) {
            for entry in entries.flatten() {
                if entry.path().is_file() {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
    Ok(())
}

/// The tar sent as build context: the recipe directory (without local-only folders) plus a
/// `ca-certificates/` folder with the CA files to trust during the build.
pub fn build_context(context: &Path, cas: &CaCertificates) -> Result<Vec<u8>, EngineError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| EngineError::Io {
            action,
            path,
            source,
        }
    };
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    let mut stack = vec![context.to_path_buf()];
    let mut files = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io("read recipe directory", &dir))? {
            let entry = entry.map_err(io("read recipe directory", &dir))?;
            let path = entry.path();
            let rel = path.strip_prefix(context).unwrap_or(&path).to_path_buf();
            let top = rel
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().to_string());
            if matches!(top.as_deref(), Some("ca-certificates" | "target")) {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((path, rel));
            }
        }
    }
    files.sort();
    for (path, rel) in files {
        builder
            .append_path_with_name(&path, &rel)
            .map_err(io("add to build context", &path))?;
    }
    let mut readme = tar::Header::new_gnu();
    let note = b"Extra CA certificates trusted during the build (added by stackctl).\n";
    readme.set_size(note.len() as u64);
    readme.set_mode(0o644);
    readme.set_cksum();
    builder
        .append_data(&mut readme, "ca-certificates/README", &note[..])
        .map_err(io(
            "add to build context",
            Path::new("ca-certificates/README"),
        ))?;
    for (i, ca) in cas.files.iter().enumerate() {
        let name = format!(
            "ca-certificates/{i:02}-{}",
            ca.file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default()
        );
        let data = std::fs::read(ca).map_err(io("read CA certificate", ca))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, &data[..])
            .map_err(io("add to build context", ca))?;
    }
    builder
        .into_inner()
        .map_err(io("finish build context for", context))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}
