//! [`StackView`]: what `verify` reads from the engine, as a dyn-compatible trait so the checks run
//! against the real [`Engine`] or, in unit tests, a scripted fake. (`ContainerEngine` serves
//! orchestration with `async fn`s, whose futures are neither boxed nor known to be `Send`; the
//! checks are boxed `Send` futures, so they need this form.)

use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;

use super::containers::ProjectContainer;
use super::{ContainerFacts, Engine, EngineError, api};

/// A boxed, `Send` engine call.
pub type Call<'a, T> = Pin<Box<dyn Future<Output = Result<T, EngineError>> + Send + 'a>>;

/// Owner and permission bits of a file inside a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

/// The engine as `verify` sees it: read-only questions about the project's containers and images.
pub trait StackView: Send + Sync {
    fn project_containers<'a>(&'a self, project: &'a str) -> Call<'a, Vec<ProjectContainer>>;
    /// Environment and command line of a container, `KEY=value` and arguments.
    fn container_env<'a>(&'a self, id: &'a str) -> Call<'a, Vec<String>>;
    /// Streams a container's whole log to `sink` chunk by chunk (never held whole); the bytes.
    fn stream_logs<'a>(
        &'a self,
        id: &'a str,
        sink: &'a mut (dyn FnMut(&[u8]) + Send),
    ) -> Call<'a, u64>;
    /// The text of an image's config and history.
    fn image_strings<'a>(&'a self, image: &'a str) -> Call<'a, Vec<String>>;
    /// The id of the local image `image`; None when it is not present.
    fn image_id<'a>(&'a self, image: &'a str) -> Call<'a, Option<String>>;
    /// Every regular file at or below `path` in a container, by its archive path.
    fn read_files<'a>(&'a self, id: &'a str, path: &'a str) -> Call<'a, Vec<(String, Vec<u8>)>>;
    fn file_stat<'a>(&'a self, id: &'a str, path: &'a str) -> Call<'a, FileStat>;
    fn facts<'a>(&'a self, id: &'a str) -> Call<'a, ContainerFacts>;
    /// Runs a tool that only asks (verify runs `kafka-metadata-quorum describe`) in a container:
    /// its exit code and output. A view that cannot run commands says so.
    fn ask_tool<'a>(&'a self, id: &'a str, cmd: &'a [&'a str]) -> Call<'a, (i64, String)> {
        Box::pin(async move {
            Err(EngineError::Service(format!(
                "this view cannot run `{}` in container {id}",
                cmd.join(" ")
            )))
        })
    }

    /// The bytes of one file in a container.
    fn read_file<'a>(&'a self, id: &'a str, path: &'a str) -> Call<'a, Vec<u8>> {
        Box::pin(async move {
            self.read_files(id, path)
                .await?
                .into_iter()
                .next()
                .map(|(_, data)| data)
                .ok_or_else(|| {
                    EngineError::Service(format!("{path} in container {id}: empty archive"))
                })
        })
    }
}

impl StackView for Engine {
    fn ask_tool<'a>(&'a self, id: &'a str, cmd: &'a [&'a str]) -> Call<'a, (i64, String)> {
        Box::pin(Engine::exec(self, id, cmd))
    }
    fn project_containers<'a>(&'a self, project: &'a str) -> Call<'a, Vec<ProjectContainer>> {
        Box::pin(Engine::project_containers(self, project))
    }
    fn container_env<'a>(&'a self, id: &'a str) -> Call<'a, Vec<String>> {
        Box::pin(Engine::container_env(self, id))
    }
    fn stream_logs<'a>(
        &'a self,
        id: &'a str,
        sink: &'a mut (dyn FnMut(&[u8]) + Send),
    ) -> Call<'a, u64> {
        Box::pin(Engine::stream_logs(self, id, sink))
    }
    fn image_strings<'a>(&'a self, image: &'a str) -> Call<'a, Vec<String>> {
        Box::pin(Engine::image_strings(self, image))
    }
    fn image_id<'a>(&'a self, image: &'a str) -> Call<'a, Option<String>> {
        Box::pin(async move {
            // Only "no such image" (404) means absent; any other failure is the engine's.
            match self.docker.inspect_image(image).await {
                Ok(info) => Ok(info.id),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => Ok(None),
                Err(e) => Err(api(format!("inspect image {image}"))(e)),
            }
        })
    }
    fn read_files<'a>(&'a self, id: &'a str, path: &'a str) -> Call<'a, Vec<(String, Vec<u8>)>> {
        Box::pin(Engine::read_files(self, id, path))
    }
    fn file_stat<'a>(&'a self, id: &'a str, path: &'a str) -> Call<'a, FileStat> {
        Box::pin(file_stat(self, id, path))
    }
    fn facts<'a>(&'a self, id: &'a str) -> Call<'a, ContainerFacts> {
        Box::pin(Engine::facts(self, id))
    }
}

/// The mode and owner of `path` in a container, from the header of its copy-out archive (only
/// the header is needed; the archive is read up to it).
async fn file_stat(engine: &Engine, id: &str, path: &str) -> Result<FileStat, EngineError> {
    use bollard::query_parameters::DownloadFromContainerOptionsBuilder;
    let options = DownloadFromContainerOptionsBuilder::default()
        .path(path)
        .build();
    let mut stream = engine.docker.download_from_container(id, Some(options));
    let mut head = Vec::new();
    while head.len() < 512 {
        match stream.next().await {
            Some(chunk) => {
                head.extend_from_slice(&chunk.map_err(api(format!("stat {path} in {id}")))?);
            }
            None => break,
        }
    }
    parse_stat(&head)
        .ok_or_else(|| EngineError::Service(format!("{path} in container {id}: no file header")))
}

/// Mode and owner from the first tar header in `archive`.
fn parse_stat(archive: &[u8]) -> Option<FileStat> {
    let block: &[u8; 512] = archive.get(..512)?.try_into().ok()?;
    let header = tar::Header::from_byte_slice(block);
    // A real header's checksum: the byte sum with the checksum field read as spaces.
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum();
    if header.cksum().ok()? != sum {
        return None;
    }
    Some(FileStat {
        mode: header.mode().ok()? & 0o7777,
        uid: header.uid().ok()?,
        gid: header.gid().ok()?,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn stat_comes_from_the_first_header() {
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o100_400);
        header.set_uid(1000);
        header.set_gid(1001);
        header.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append_data(&mut header, "etc/x", &b"abc"[..])
            .expect("append");
        let archive = builder.into_inner().expect("archive");
        let stat = super::parse_stat(&archive).expect("stat");
        assert_eq!((stat.mode, stat.uid, stat.gid), (0o400, 1000, 1001));
        assert_eq!(super::parse_stat(&archive[..100]), None);
        assert_eq!(super::parse_stat(&[0u8; 512]), None);
    }
}
