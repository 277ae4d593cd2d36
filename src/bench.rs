//! `bench`: a load test of the running, secured pipeline. Produces records as the application
//! principal (a count, a rate, or until stopped), watches them become visible in ClickHouse, and
//! reports producer throughput, end-to-end rows/s, produce-to-visible latency percentiles, and lost
//! and duplicated rows.
//!
//! Latency: each record carries its run id, a sequence number and, at the start of its payload, the
//! producer's wall-clock milliseconds. While records flow, ClickHouse is asked every
//! [`POLL`] which sequence numbers of the run it holds at or above the lowest one not yet seen
//! (a range read on the table's primary key `(run_id, seq)`); a record's latency is the start of
//! the first query that returned it minus its produce time (same host clock). Resolution: the poll
//! interval.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, error::RDKafkaErrorCode};
use serde::Serialize;

use crate::clients::clickhouse::ClickHouse;
use crate::clients::{Endpoints, Login};
use crate::secrets::SecretSet;
use crate::settings::{ClickHouseRole, KafkaRole, Settings};

/// How often ClickHouse is asked what arrived.
pub const POLL: Duration = Duration::from_millis(100);

/// What to produce.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// How many records; None: until stopped.
    pub records: Option<u64>,
    /// Bytes per record value (at least what the JSON frame needs, ~75).
    pub size: usize,
    /// Records per second offered; None: as fast as the producer goes.
    pub rate: Option<u64>,
    /// After the last record is acknowledged: once nothing arrived for this long, rows that
    /// still arrive are counted as late (not lost).
    pub idle_timeout: Duration,
    /// Longest wait after the last record is acknowledged for every record to arrive; what has
    /// not arrived by then is lost.
    pub wait_bound: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("no secret for {0}; run `stackctl init-secrets`")]
    NoSecret(&'static str),
    #[error("the producer could not start: {0}")]
    Producer(String),
    #[error("{failed} of {produced} records were not acknowledged by Kafka (first error: {first})")]
    Delivery {
        failed: u64,
        produced: u64,
        first: String,
    },
    #[error("asking ClickHouse what arrived: {0}")]
    ClickHouse(String),
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub run_id: String,
    pub topic: String,
    pub table: String,
    pub records: u64,
    pub record_bytes: usize,
    pub offered_rate: Option<u64>,
    /// Seconds from the first send to the last acknowledgement.
    pub producer_seconds: f64,
    pub producer_rows_per_s: f64,
    /// Seconds from the first send until ClickHouse held every record (or the last one arrived).
    pub end_to_end_seconds: f64,
    pub end_to_end_rows_per_s: f64,
    /// Produce to visible in ClickHouse, over the records seen arriving.
    pub latency_ms: Latency,
    pub poll_ms: u64,
    pub rows: u64,
    pub unique: u64,
    /// Arrived, but only after nothing had arrived for `idle_timeout` (counted in `unique`).
    pub late: u64,
    /// Never arrived within `wait_bound`: the only outcome that makes bench fail.
    pub lost: u64,
    /// Rows the sink wrote more than once: the same Kafka record (topic, partition, offset) twice.
    pub duplicated: u64,
    /// Records the producer itself wrote twice to Kafka (same seq at two offsets), apart from
    /// the sink's duplicates.
    pub producer_duplicates: u64,
}

/// Where the work is, for a progress line.
pub trait BenchProgress: Sync {
    fn update(&self, produced: u64, visible: u64, target: Option<u64>);
}

/// Counts acknowledgements and failures from librdkafka's delivery reports.
#[derive(Default)]
struct Acks {
    ok: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

#[derive(Clone, Default)]
struct AckContext(Arc<Acks>);

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, (): ()) {
        match result {
            Ok(_) => {
                self.0.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.0.failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.0.first_error.lock() {
                    first.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One record value of `size` bytes: `{"run_id":…,"seq":…,"payload":"<produce ms> xxx…"}`.
pub fn record(run: &str, seq: u64, produced_ms: u64, size: usize) -> String {
    let head = format!("{{\"run_id\":\"{run}\",\"seq\":{seq},\"payload\":\"{produced_ms} ");
    let pad = size.saturating_sub(head.len() + 2);
    format!("{head}{}\"}}", "x".repeat(pad))
}

/// What the producer thread shares with the watcher.
struct Shared {
    /// Produce time (epoch ms) by sequence number.
    sent_ms: Mutex<Vec<u64>>,
    produced: AtomicU64,
    done_producing: AtomicBool,
}

/// Runs the benchmark until `records` are produced (or `stop` is set) and every produced record
/// arrived in ClickHouse (or none arrived for `idle_timeout`).
pub async fn run(
    settings: &Settings,
    secrets: &SecretSet,
    endpoints: &Endpoints,
    options: &BenchOptions,
    stop: Arc<AtomicBool>,
    progress: &dyn BenchProgress,
) -> Result<BenchReport, BenchError> {
    let app =
        Login::kafka(settings, secrets, KafkaRole::App).ok_or(BenchError::NoSecret("kafka app"))?;
    let reader = Login::clickhouse(settings, secrets, ClickHouseRole::Readonly);
    let run_id = format!("bench-{}", crate::verify::new_run_id());
    let topic = settings.pipeline.topic.clone();
    let table = format!(
        "{}.{}",
        settings.clickhouse.database, settings.pipeline.table
    );

    let acks = AckContext::default();
    let kafka = bench_producer(endpoints, &app, &acks)?;
    let shared = Arc::new(Shared {
        // Only a capacity hint: a count beyond the address space starts empty and grows.
        sent_ms: Mutex::new(Vec::with_capacity(
            usize::try_from(options.records.unwrap_or(100_000)).unwrap_or(0),
        )),
        produced: AtomicU64::new(0),
        done_producing: AtomicBool::new(false),
    });

    let started = Instant::now();
    let start_ms = epoch_ms();
    let producing = {
        let shared = shared.clone();
        let (run_id, topic, options, stop) =
            (run_id.clone(), topic.clone(), options.clone(), stop.clone());
        tokio::task::spawn_blocking(move || {
            produce(&kafka, &shared, &run_id, &topic, &options, &stop)
        })
    };
    let ch = endpoints.clickhouse(Duration::from_secs(10));
    let watched = watch(
        &ch,
        reader.as_ref(),
        &table,
        &run_id,
        &shared,
        options,
        progress,
    )
    .await;
    // The producer thread ends by itself (its count, or `stop`): wait for it before judging.
    let acked_at = producing
        .await
        .map_err(|e| BenchError::Producer(e.to_string()))??;
    let watched = watched?;
    let produced = shared.produced.load(Ordering::Relaxed);
    check_delivery(&acks, produced)?;

    let counts = final_counts(&ch, reader.as_ref(), &table, &run_id).await?;
    let (rows, unique, sources) = (counts[0], counts[1], counts[2]);
    let producer_seconds = acked_at.duration_since(started).as_secs_f64();
    let last_visible_ms = watched.last_visible_ms.max(start_ms);
    let end_to_end_seconds = (last_visible_ms - start_ms) as f64 / 1000.0;
    let per_s = |n: u64, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
    Ok(BenchReport {
        run_id,
        topic,
        table,
        records: produced,
        record_bytes: options.size,
        offered_rate: options.rate,
        producer_seconds,
        producer_rows_per_s: per_s(produced, producer_seconds),
        end_to_end_seconds,
        end_to_end_rows_per_s: per_s(unique.min(produced), end_to_end_seconds),
        latency_ms: Latency::of(watched.latencies),
        poll_ms: u64::try_from(POLL.as_millis()).unwrap_or(u64::MAX),
        rows,
        unique,
        late: watched.late,
        lost: produced.saturating_sub(unique),
        duplicated: rows.saturating_sub(sources),
        producer_duplicates: sources.saturating_sub(unique),
    })
}

/// The benchmark's producer: every record acknowledged by all in-sync replicas, idempotent (a
/// retried send is not written twice), batched for throughput; delivery outcomes are counted in `acks`.
fn bench_producer(
    endpoints: &Endpoints,
    app: &Login,
    acks: &AckContext,
) -> Result<ThreadedProducer<AckContext>, BenchError> {
    let mut cfg = endpoints.kafka().client_config(app);
    cfg.set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "10")
        .set("batch.size", "1000000")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("message.timeout.ms", "120000");
    cfg.create_with_context(acks.clone())
        .map_err(|e| BenchError::Producer(e.to_string()))
}

/// Fails the run when any record was not delivered, naming the first delivery error.
fn check_delivery(acks: &AckContext, produced: u64) -> Result<(), BenchError> {
    let failed = acks.0.failed.load(Ordering::Relaxed);
    if failed == 0 {
        return Ok(());
    }
    let first = acks
        .0
        .first_error
        .lock()
        .ok()
        .and_then(|f| f.clone())
        .unwrap_or_else(|| "unknown".into());
    Err(BenchError::Delivery {
        failed,
        produced,
        first,
    })
}

impl Latency {
    /// The percentiles of `latencies` (in any order).
    fn of(mut latencies: Vec<u64>) -> Latency {
        latencies.sort_unstable();
        let pct = |p: f64| percentile(&latencies, p);
        Latency {
            p50: pct(0.50),
            p95: pct(0.95),
            p99: pct(0.99),
            max: pct(1.0),
        }
    }
}

/// The `p` quantile (0.0..=1.0, nearest rank) of sorted latencies; 0 when there are none.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "len * p is in 0..=len for p in 0.0..=1.0, and clamped to 1..=len afterwards"
)]
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// The producer loop (blocking): paced when a rate is set; returns when every record is
/// acknowledged (or failed).
fn produce(
    producer: &ThreadedProducer<AckContext>,
    shared: &Shared,
    run_id: &str,
    topic: &str,
    options: &BenchOptions,
    stop: &AtomicBool,
) -> Result<Instant, BenchError> {
    let begin = Instant::now();
    let mut seq: u64 = 0;
    while options.records.is_none_or(|n| seq < n) && !stop.load(Ordering::Relaxed) {
        if let Some(rate) = options.rate {
            let due = begin + Duration::from_secs_f64(seq as f64 / rate as f64);
            let now = Instant::now();
            if due > now + Duration::from_millis(1) {
                std::thread::sleep(due - now);
            }
        }
        let ms = epoch_ms();
        let value = record(run_id, seq, ms, options.size);
        let mut pending = BaseRecord::<(), String>::to(topic).payload(&value);
        loop {
            match producer.send(pending) {
                Ok(()) => break,
                Err((e, back)) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                    pending = back;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err((e, _)) => return Err(BenchError::Producer(e.to_string())),
            }
        }
        if let Ok(mut sent) = shared.sent_ms.lock() {
            sent.push(ms);
        }
        seq += 1;
        shared.produced.store(seq, Ordering::Relaxed);
    }
    shared.done_producing.store(true, Ordering::Relaxed);
    producer
        .flush(Duration::from_secs(120))
        .map_err(|e| BenchError::Producer(format!("flushing: {e}")))?;
    Ok(Instant::now())
}

struct Watched {
    latencies: Vec<u64>,
    last_visible_ms: u64,
    late: u64,
}

/// Polls ClickHouse until every produced record was seen, or `wait_bound` passed after producing
/// ended. Rows seen after nothing had arrived for `idle_timeout` are late.
async fn watch(
    ch: &ClickHouse,
    reader: Option<&Login>,
    table: &str,
    run_id: &str,
    shared: &Shared,
    options: &BenchOptions,
    progress: &dyn BenchProgress,
) -> Result<Watched, BenchError> {
    let mut seen: Vec<bool> = Vec::new();
    let mut sent_before: Vec<u64> = Vec::new();
    let mut lowest_unseen: usize = 0;
    let mut visible: u64 = 0;
    let mut latencies = Vec::new();
    let mut last_visible_ms = 0;
    let mut last_progress = Instant::now();
    let mut done_at: Option<Instant> = None;
    let mut stalled = false;
    let mut late = 0;
    loop {
        let done = shared.done_producing.load(Ordering::Relaxed);
        let produced = shared.produced.load(Ordering::Relaxed);
        progress.update(produced, visible, options.records);
        if done && visible >= produced {
            break;
        }
        if done {
            done_at.get_or_insert_with(Instant::now);
        }
        let since_done = done_at.map(|t| t.elapsed()).unwrap_or_default();
        if done && since_done >= options.wait_bound {
            break;
        }
        stalled |= done && last_progress.elapsed() >= options.idle_timeout;
        let asked_ms = epoch_ms();
        let sql = format!(
            "SELECT seq FROM {table} WHERE run_id = '{run_id}' AND seq >= {lowest_unseen} FORMAT TSV"
        );
        // ClickHouse may be down for a while (a crash, a restart): keep asking until the bound.
        let answer = match ch.query(reader, &sql, None).await {
            Ok(a) if a.ok() => a,
            failed => {
                if done && since_done >= options.wait_bound {
                    return Err(BenchError::ClickHouse(match failed {
                        Ok(a) => format!("HTTP {} code {:?}", a.status, a.code),
                        Err(e) => e.to_string(),
                    }));
                }
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        // Produce times of everything sent so far (a record ClickHouse holds was sent before).
        let sent: Vec<u64> = match shared.sent_ms.lock() {
            Ok(sent) => sent[seen.len().min(sent.len())..].to_vec(),
            Err(_) => return Err(BenchError::Producer("the producer thread panicked".into())),
        };
        sent_before.extend_from_slice(&sent);
        seen.resize(sent_before.len(), false);
        let mut newly = 0;
        for line in answer.body.lines() {
            let Ok(seq) = line.trim().parse::<usize>() else {
                continue;
            };
            if seq >= seen.len() || seen[seq] {
                continue;
            }
            seen[seq] = true;
            newly += 1;
            latencies.push(asked_ms.saturating_sub(sent_before[seq]));
        }
        if newly > 0 {
            if stalled {
                late += newly;
            }
            visible += newly;
            last_visible_ms = asked_ms;
            last_progress = Instant::now();
        }
        while lowest_unseen < seen.len() && seen[lowest_unseen] {
            lowest_unseen += 1;
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(Watched {
        latencies,
        last_visible_ms,
        late,
    })
}

/// [rows, distinct seq, distinct Kafka records (topic, partition, offset)] of a run.
async fn final_counts(
    ch: &ClickHouse,
    reader: Option<&Login>,
    table: &str,
    run_id: &str,
) -> Result<[u64; 3], BenchError> {
    let sql = format!(
        "SELECT count(), uniqExact(seq), uniqExact(_topic, _partition, _offset) FROM {table} WHERE run_id = '{run_id}' FORMAT TSV"
    );
    let answer = ch
        .query(reader, &sql, None)
        .await
        .map_err(|e| BenchError::ClickHouse(e.to_string()))?;
    let fields: Vec<u64> = answer
        .body
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    match (answer.ok(), <[u64; 3]>::try_from(fields)) {
        (true, Ok(counts)) => Ok(counts),
        _ => Err(BenchError::ClickHouse(format!(
            "counting the run's rows: HTTP {} {:?}",
            answer.status,
            answer.body.lines().next()
        ))),
    }
}

#[cfg(test)]
#[path = "bench_tests.rs"]
mod tests;
