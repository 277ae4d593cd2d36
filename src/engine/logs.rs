//! What is inside a container: its logs (read or followed), commands executed in it, and files
//! copied out of it (what the service really reads, for posture checks).

use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;

use super::{Engine, EngineError, api};

impl Engine {
    /// The last `tail` log lines (stdout and stderr) of a container, unredacted: callers redact.
    pub async fn logs(&self, id: &str, tail: Option<usize>) -> Result<String, EngineError> {
        let tail = tail.map(|t| t.to_string()).unwrap_or_else(|| "all".into());
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&tail)
            .build();
        let mut stream = self.docker.logs(id, Some(options));
        let mut out = String::new();
        while let Some(item) = stream.next().await {
            let chunk = item.map_err(api("read container logs"))?;
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        Ok(out)
    }

    /// Follows a container's logs, passing each chunk to `sink`.
    pub async fn follow_logs(
        &self,
        id: &str,
        tail: usize,
        mut sink: impl FnMut(&str),
    ) -> Result<(), EngineError> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(true)
            .tail(&tail.to_string())
            .build();
        let mut stream = self.docker.logs(id, Some(options));
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
            sink(&String::from_utf8_lossy(&pending));
            pending = rest;
        }
        if !pending.is_empty() {
            sink(&String::from_utf8_lossy(&pending));
        }
        Ok(())
    }

    /// Runs a command in a running container and returns (exit code, combined output).
    pub async fn exec(&self, id: &str, cmd: &[&str]) -> Result<(i64, String), EngineError> {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        let exec = self
            .docker
            .create_exec(
                id,
                CreateExecOptions {
                    cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(api("create exec"))?;
        let mut output = String::new();
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
                output.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            }
        }
        let code = self
            .docker
            .inspect_exec(&exec.id)
            .await
            .map_err(api("inspect exec"))?
            .exit_code
            .unwrap_or(-1);
        Ok((code, output))
    }

    /// The bytes of the file `path` inside a container (at most 1 MiB), copied out through the
    /// Engine API: what the service actually reads, whatever was meant to be mounted.
    pub async fn read_file(&self, id: &str, path: &str) -> Result<Vec<u8>, EngineError> {
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
        let mut entries = tar.entries().map_err(io)?;
        let mut entry = entries
            .next()
            .ok_or_else(|| {
                EngineError::Service(format!("{path} in container {id}: empty archive"))
            })?
            .map_err(io)?;
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).map_err(io)?;
        Ok(data)
    }
}
