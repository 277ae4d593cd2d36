//! Images to and from a file in Docker's archive format (what `docker save` writes and
//! `docker load` reads): the image configs, their layers once each, and their tags.

use std::io::{Read, Write};
use std::path::Path;

use bollard::query_parameters::ImportImageOptionsBuilder;
use futures_util::StreamExt;

use super::{Engine, EngineError, api};

const CHUNK: usize = 1 << 20;

impl Engine {
    /// Writes `images` (with every layer they share stored once) to `file`; returns its size.
    pub async fn save_images(&self, images: &[&str], file: &Path) -> Result<u64, EngineError> {
        let io = |action: &'static str| {
            move |source| EngineError::Io {
                action,
                path: file.to_path_buf(),
                source,
            }
        };
        let partial = file.with_extension("tar.partial");
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&partial).map_err(io("create the image archive"))?,
        );
        let mut stream = self.docker.export_images(images);
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(api(format!("save images {}", images.join(" "))))?;
            size += chunk.len() as u64;
            out.write_all(&chunk)
                .map_err(io("write the image archive"))?;
        }
        out.flush().map_err(io("write the image archive"))?;
        drop(out);
        std::fs::rename(&partial, file).map_err(io("finish the image archive"))?;
        Ok(size)
    }

    /// Loads the images of an archive written by [`Engine::save_images`] (or `docker save`);
    /// returns the lines the engine reported (`Loaded image: …`).
    pub async fn load_images(&self, file: &Path) -> Result<Vec<String>, EngineError> {
        let reader = std::fs::File::open(file).map_err(|source| EngineError::Io {
            action: "open the image archive",
            path: file.to_path_buf(),
            source,
        })?;
        let chunks = futures_util::stream::unfold(reader, |mut reader| async move {
            let mut buf = vec![0u8; CHUNK];
            match reader.read(&mut buf) {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok::<_, std::io::Error>(buf.into()), reader))
                }
                Err(e) => Some((Err(e), reader)),
            }
        });
        let options = ImportImageOptionsBuilder::default().quiet(true).build();
        let mut stream = self.docker.import_image_stream(options, chunks, None);
        let mut lines = Vec::new();
        while let Some(item) = stream.next().await {
            let info = item.map_err(api(format!("load images from {}", file.display())))?;
            if let Some(text) = info.stream {
                lines.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(String::from),
                );
            }
        }
        Ok(lines)
    }
}
