//! What is inside a container: its logs (read or followed), commands executed in it, files copied
//! out of it, and the facts the engine holds about it (what the service really runs with, for
//! the posture checks).

use bollard::container::LogOutput;
use bollard::query_parameters::{LogsOptions, LogsOptionsBuilder};
use futures_util::StreamExt;

use super::{Engine, EngineError, api};

/// Which log lines to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogQuery {
    /// Lines from the end (None: all).
    pub tail: Option<usize>,
    /// Only lines since this Unix time.
    pub since: Option<i64>,
    /// The engine prefixes each line with its RFC 3339 time.
    pub timestamps: bool,
}

impl LogQuery {
    fn options(&self, follow: bool) -> Result<LogsOptions, EngineError> {
        let tail = self.tail.map_or_else(|| "all".into(), |t| t.to_string());
        let mut builder = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(follow)
            .timestamps(self.timestamps)
            .tail(&tail);
        if let Some(since) = self.since {
            // The engine's query takes a 32-bit Unix time.
            let since = i32::try_from(since.max(0)).map_err(|_| EngineError::Api {
                call: "read container logs".into(),
                message: format!("--since {since} is beyond what the Engine API takes"),
            })?;
            builder = builder.since(since);
        }
        Ok(builder.build())
    }
}

/// Which stream of a command's output a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

impl Engine {
    /// The last `tail` log lines (stdout and stderr) of a container, unredacted: callers redact.
    pub async fn logs(&self, id: &str, tail: Option<usize>) -> Result<String, EngineError> {
        self.query_logs(
            id,
            &LogQuery {
                tail,
                ..LogQuery::default()
            },
        )
        .await
    }

    /// A container's log lines as `query` selects them, unredacted: callers redact.
    pub async fn query_logs(&self, id: &str, query: &LogQuery) -> Result<String, EngineError> {
        let mut stream = self.docker.logs(id, Some(query.options(false)?));
        let mut out = String::new();
        while let Some(item) = stream.next().await {
            let chunk = item.map_err(api("read container logs"))?;
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        Ok(out)
    }

    /// Streams a container's whole log (stdout and stderr, unredacted) to `sink` chunk by chunk,
    /// without holding it: searches over logs of any size. Returns the bytes streamed.
    pub async fn stream_logs(
        &self,
        id: &str,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<u64, EngineError> {
        let mut stream = self
            .docker
            .logs(id, Some(LogQuery::default().options(false)?));
        let mut bytes = 0u64;
        while let Some(item) = stream.next().await {
            let chunk = item.map_err(api("read container logs"))?.into_bytes();
            bytes += chunk.len() as u64;
            sink(&chunk);
        }
        Ok(bytes)
    }

    /// Follows a container's logs, passing each chunk to `sink` until the container stops or
    /// `sink` returns false.
    pub async fn follow_logs(
        &self,
        id: &str,
        query: &LogQuery,
        mut sink: impl FnMut(&str) -> bool,
    ) -> Result<(), EngineError> {
        let mut stream = self.docker.logs(id, Some(query.options(true)?));
        // A character split across two chunks is held back until it is whole.
        let mut pending: Vec<u8> = Vec::new();
        while let Some(item) = stream.next().await {
            let chunk = item.map_err(api("follow container logs"))?;
            pending.extend_from_slice(&chunk.into_bytes());
            let ready = match std::str::from_utf8(&pending) {
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                _ => pending.len(),
            };
            let rest = pending.split_off(ready);
            let go_on = sink(&String::from_utf8_lossy(&pending));
            pending = rest;
            if !go_on {
                return Ok(());
            }
        }
        if !pending.is_empty() {
            sink(&String::from_utf8_lossy(&pending));
        }
        Ok(())
    }

    /// Runs a command in a running container and returns (exit code, combined output).
    pub async fn exec(&self, id: &str, cmd: &[&str]) -> Result<(i64, String), EngineError> {
        let mut output = String::new();
        let code = self
            .exec_streaming(id, cmd, |_, text| output.push_str(text))
            .await?;
        Ok((code, output))
    }

    /// Runs a command in a running container, passing each chunk of its stdout and stderr to
    /// `sink` as it arrives; returns its exit code (-1 when the engine reports none).
    pub async fn exec_streaming(
        &self,
        id: &str,
        cmd: &[&str],
        mut sink: impl FnMut(OutputStream, &str),
    ) -> Result<i64, EngineError> {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        let exec = self
            .docker
            .create_exec(
                id,
                CreateExecOptions {
                    cmd: Some(cmd.iter().map(std::string::ToString::to_string).collect()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(api("create exec"))?;
        if let StartExecResults::Attached {
            output: mut stream, ..
        } = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .map_err(api("start exec"))?
        {
            while let Some(item) = stream.next().await {
                let chunk = item.map_err(api("read exec output"))?;
                let which = match chunk {
                    LogOutput::StdErr { .. } => OutputStream::Stderr,
                    _ => OutputStream::Stdout,
                };
                sink(which, &String::from_utf8_lossy(&chunk.into_bytes()));
            }
        }
        Ok(self
            .docker
            .inspect_exec(&exec.id)
            .await
            .map_err(api("inspect exec"))?
            .exit_code
            .unwrap_or(-1))
    }

    /// The bytes of the file `path` inside a container (at most 1 MiB), copied out through the
    /// Engine API: what the service actually reads, whatever was meant to be mounted.
    pub async fn read_file(&self, id: &str, path: &str) -> Result<Vec<u8>, EngineError> {
        self.read_files(id, path)
            .await?
            .into_iter()
            .next()
            .map(|(_, data)| data)
            .ok_or_else(|| EngineError::Service(format!("{path} in container {id}: empty archive")))
    }

    /// Every regular file at or below `path` inside a container (at most 1 MiB in all), by its
    /// path relative to `path`'s parent, in archive order.
    pub async fn read_files(
        &self,
        id: &str,
        path: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        use bollard::query_parameters::DownloadFromContainerOptionsBuilder;
        const LIMIT: usize = 1 << 20;
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let mut stream = self.docker.download_from_container(id, Some(options));
        let mut archive = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(api(format!("copy {path} out of container {id}")))?;
            archive.extend_from_slice(&chunk);
            if archive.len() > LIMIT + 64 * 1024 {
                return Err(EngineError::Service(format!(
                    "{path} in container {id} is larger than 1 MiB"
                )));
            }
        }
        let io = |source| EngineError::Io {
            action: "unpack the copy of",
            path: path.into(),
            source,
        };
        let mut tar = tar::Archive::new(archive.as_slice());
        let mut files = Vec::new();
        for entry in tar.entries().map_err(io)? {
            let mut entry = entry.map_err(io)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = entry.path().map_err(io)?.to_string_lossy().into_owned();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).map_err(io)?;
            files.push((name, data));
        }
        Ok(files)
    }

    /// What the engine says one container runs with.
    pub async fn facts(&self, id: &str) -> Result<ContainerFacts, EngineError> {
        let info = self.inspect(id).await?;
        let host = info.host_config.unwrap_or_default();
        let mut published = Vec::new();
        for (container_port, bindings) in host.port_bindings.unwrap_or_default() {
            let port = container_port
                .split('/')
                .next()
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| {
                    EngineError::Service(format!("container {id}: odd port `{container_port}`"))
                })?;
            for b in bindings.unwrap_or_default() {
                published.push(PublishedPort {
                    // An empty host IP is how Docker says "every interface".
                    host_ip: b
                        .host_ip
                        .filter(|ip| !ip.is_empty())
                        .unwrap_or_else(|| "0.0.0.0".into()),
                    host_port: b.host_port.unwrap_or_default(),
                    container_port: port,
                });
            }
        }
        published.sort();
        Ok(ContainerFacts {
            image_id: info.image.unwrap_or_default(),
            nano_cpus: host.nano_cpus.filter(|n| *n > 0),
            memory_bytes: host.memory.filter(|m| *m > 0),
            restart: host
                .restart_policy
                .and_then(|r| r.name)
                .map(|n| n.to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "no".into()),
            published,
        })
    }
}

/// A port the engine publishes on the host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct PublishedPort {
    pub host_ip: String,
    /// As the engine holds it (a number, or empty for "any free port").
    pub host_port: String,
    pub container_port: u16,
}

/// What a running container actually has, from the engine's inspect.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContainerFacts {
    pub image_id: String,
    pub nano_cpus: Option<i64>,
    pub memory_bytes: Option<i64>,
    pub restart: String,
    pub published: Vec<PublishedPort>,
}
