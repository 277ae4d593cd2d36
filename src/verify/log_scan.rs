//! Streamed, single-pass, multi-pattern search of container logs (issue 17): a long-lived stack's
//! logs may hold a gigabyte, so they are never held in memory or searched once per secret. The
//! engine's log stream is gathered into blocks of [`BLOCK`] bytes and each block is searched once
//! for every pattern (Aho-Corasick); the last `longest - 1` bytes of a block start the next one,
//! so a pattern split between two chunks is still found. Which patterns to look for (the secret
//! values and their encoded forms) is the caller's business.

use aho_corasick::{AhoCorasick, MatchKind};

use crate::engine::StackView;

/// Bytes gathered before one search.
pub const BLOCK: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
#[error("cannot build the log search for {patterns} pattern(s): {reason}")]
pub struct LogScanError {
    patterns: usize,
    reason: String,
}

/// The state of one scan: feed it the stream, then ask which patterns were seen.
pub struct LogScan {
    search: Option<AhoCorasick>,
    /// The caller's index of each searched pattern (empty patterns are not searched).
    index: Vec<usize>,
    keep: usize,
    block: Vec<u8>,
    /// Per pattern: seen at least once.
    seen: Vec<bool>,
    bytes: u64,
}

impl LogScan {
    /// A scan for `patterns` (empty ones are never found).
    pub fn new(patterns: &[Vec<u8>]) -> Result<LogScan, LogScanError> {
        let (index, usable): (Vec<usize>, Vec<&[u8]>) = patterns
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.is_empty())
            .map(|(i, p)| (i, p.as_slice()))
            .unzip();
        let search = if usable.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&usable)
                    .map_err(|e| LogScanError {
                        patterns: usable.len(),
                        reason: e.to_string(),
                    })?,
            )
        };
        let longest = usable.iter().map(|p| p.len()).max().unwrap_or(1);
        Ok(LogScan {
            search,
            index,
            keep: longest - 1,
            block: Vec::with_capacity(BLOCK + longest),
            seen: vec![false; usable.len()],
            bytes: 0,
        })
    }

    /// Takes the next piece of the stream.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        self.block.extend_from_slice(chunk);
        if self.block.len() >= BLOCK {
            self.search_block();
        }
    }

    /// Ends the stream: the caller's indices of the patterns seen, ascending.
    pub fn finish(mut self) -> Vec<usize> {
        self.search_block();
        self.seen
            .iter()
            .zip(&self.index)
            .filter(|(seen, _)| **seen)
            .map(|(_, i)| *i)
            .collect()
    }

    /// Bytes fed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    fn search_block(&mut self) {
        if let Some(search) = &self.search {
            for m in search.find_overlapping_iter(&self.block[..]) {
                self.seen[m.pattern().as_usize()] = true;
            }
        }
        // A pattern that starts in the last `keep` bytes may end in the next chunk.
        let cut = self.block.len().saturating_sub(self.keep);
        self.block.drain(..cut);
    }
}

/// The indices of the `patterns` found in a container's whole log, in one streamed pass.
pub async fn scan_container(
    engine: &dyn StackView,
    id: &str,
    patterns: &[Vec<u8>],
) -> Result<Vec<usize>, String> {
    let mut scan = LogScan::new(patterns).map_err(|e| e.to_string())?;
    engine
        .stream_logs(id, &mut |chunk| scan.feed(chunk))
        .await
        .map_err(|e| e.to_string())?;
    Ok(scan.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(patterns: &[&str], chunks: &[&[u8]]) -> usize {
        let pats: Vec<Vec<u8>> = patterns.iter().map(|p| p.as_bytes().to_vec()).collect();
        let mut s = LogScan::new(&pats).expect("scan");
        for c in chunks {
            s.feed(c);
        }
        s.finish().len()
    }

    #[test]
    fn finds_each_pattern_once_also_across_chunks_and_blocks() {
        assert_eq!(
            scan(&["s3cret", "other"], &[b"a s3c", b"ret and s3cret"]),
            1
        );
        assert_eq!(scan(&["s3cret", "other"], &[b"othe", b"r s3cret"]), 2);
        assert_eq!(
            scan(&["abc", "bcd"], &[b"xabcdx"]),
            2,
            "overlapping matches count"
        );
        assert_eq!(scan(&["s3cret"], &[b"nothing here"]), 0);
        assert_eq!(
            scan(&[""], &[b"anything"]),
            0,
            "an empty pattern is never found"
        );
        // Split exactly at a block boundary.
        let mut big = vec![b'.'; BLOCK - 3];
        big.extend_from_slice(b"s3c");
        assert_eq!(scan(&["s3cret"], &[&big, b"ret"]), 1);
        let mut s = LogScan::new(&[b"zz".to_vec()]).expect("scan");
        s.feed(&big);
        assert_eq!(s.bytes(), big.len() as u64);
    }

    #[test]
    fn a_hundred_megabytes_in_one_pass() {
        let patterns: Vec<Vec<u8>> = (0..40)
            .map(|i| format!("secret-value-{i:02}-abcdefghijklmnop").into_bytes())
            .collect();
        let mut s = LogScan::new(&patterns).expect("scan");
        let line = b"2026-12-02T06:00:00Z INFO [worker] a log line of ordinary length, nothing secret in it\n";
        let chunk: Vec<u8> = line.iter().copied().cycle().take(64 << 10).collect();
        for _ in 0..1600 {
            s.feed(&chunk);
        }
        s.feed(b"...secret-value-17-abcdefghijklmnop...");
        assert_eq!(s.bytes(), 1600 * (64 << 10) + 38);
        assert_eq!(s.finish(), vec![17]);
    }
}
