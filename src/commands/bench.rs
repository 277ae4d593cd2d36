//! `bench`: the load test of the running pipeline (the work is in [`crate::bench`]).

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Result;

use super::{ExitStatus, Printer, load};
use crate::bench::{self, BenchOptions, BenchProgress};
use crate::clients::Endpoints;
use crate::engine::Engine;

/// A progress line on stderr: rewritten in place on a terminal, a line every 2 s otherwise.
struct Line {
    terminal: bool,
    started: Instant,
    last: Mutex<Option<Instant>>,
}

impl BenchProgress for Line {
    fn update(&self, produced: u64, visible: u64, target: Option<u64>) {
        let every = if self.terminal { 100 } else { 2000 };
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed().as_millis() < every) {
            return;
        }
        *last = Some(Instant::now());
        let bar = |n: u64| match target {
            Some(t) if t > 0 => {
                // At most 20: the conversion cannot fail.
                let filled = usize::try_from(n.min(t) * 20 / t).unwrap_or(20);
                format!(
                    "[{}{}] {n}/{t}",
                    "#".repeat(filled),
                    ".".repeat(20 - filled)
                )
            }
            _ => n.to_string(),
        };
        let text = format!(
            "bench {:>6.1} s  produced {}  in ClickHouse {}",
            self.started.elapsed().as_secs_f64(),
            bar(produced),
            bar(visible)
        );
        let mut err = std::io::stderr();
        let _ = if self.terminal {
            write!(err, "\r{text}\x1b[K")
        } else {
            writeln!(err, "{text}")
        };
        let _ = err.flush();
    }
}

/// A flag the first Ctrl-C sets (no more records; those produced still counted); the second
/// quits at once.
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\nstopping: no more records; waiting for those produced to arrive (Ctrl-C again to quit)"
            );
            flag.store(true, Ordering::Relaxed);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(ExitStatus::Interrupted.code()));
            }
        }
    });
    stop
}

pub async fn bench(root: &Path, options: &BenchOptions, printer: &Printer) -> Result<ExitStatus> {
    let (settings, secrets) = load(root)?;
    let engine = Engine::connect().await?;
    if engine
        .project_containers(&settings.project)
        .await?
        .is_empty()
    {
        anyhow::bail!(
            "the stack is not running (no containers of project {}): run `stackctl up` first",
            settings.project
        );
    }
    let endpoints = Endpoints::new(&settings, &secrets)?;
    let stop = stop_on_ctrl_c();
    let progress = Line {
        terminal: std::io::stderr().is_terminal(),
        started: Instant::now(),
        last: Mutex::new(None),
    };
    let report = bench::run(&settings, &secrets, &endpoints, options, stop, &progress).await;
    if progress.terminal {
        eprintln!();
    }
    let report = report?;
    printer.report(&report, |style, out| {
        let r = &report;
        writeln!(
            out,
            "{} {} records of {} bytes to {} → {} (run {})",
            style.bold("bench:"),
            r.records,
            r.record_bytes,
            r.topic,
            r.table,
            r.run_id
        )?;
        if let Some(rate) = r.offered_rate {
            writeln!(out, "  offered load        {rate} records/s")?;
        }
        writeln!(
            out,
            "  producer            {:>10.0} rows/s ({:.2} s to the last acknowledgement)",
            r.producer_rows_per_s, r.producer_seconds
        )?;
        writeln!(
            out,
            "  end to end          {:>10.0} rows/s ({:.2} s from the first send until ClickHouse held them all)",
            r.end_to_end_rows_per_s, r.end_to_end_seconds
        )?;
        writeln!(
            out,
            "  latency (produce → visible in ClickHouse, ±{} ms)  p50 {} ms  p95 {} ms  p99 {} ms  max {} ms",
            r.poll_ms, r.latency_ms.p50, r.latency_ms.p95, r.latency_ms.p99, r.latency_ms.max
        )?;
        let lost = if r.lost == 0 {
            style.good("0")
        } else {
            style.warn(&r.lost.to_string())
        };
        writeln!(
            out,
            "  rows {}  unique {}  late {}  lost {lost}  duplicated {}  (producer duplicates {})",
            r.rows, r.unique, r.late, r.duplicated, r.producer_duplicates
        )
    })?;
    Ok(ExitStatus::from_success(report.lost == 0))
}
