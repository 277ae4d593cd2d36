//! The end-to-end pipeline: N records with a fresh run id, produced as the application principal,
//! arrive in ClickHouse through Connect: exactly N, within a bound. And the negative side: records
//! the sink cannot write land in the dead-letter topic with the reason in their headers, while the
//! good records produced right after them still arrive, exactly once.

use std::time::{Duration, Instant};

use super::{Check, Context, Outcome, check, fail, pass};
use crate::clients::Login;
use crate::clients::records::Received;
use crate::settings::{ClickHouseRole, KafkaRole};

/// Records per run.
pub const RECORDS: usize = 20;

/// Good records produced right after the poison ones.
const AFTER_POISON: usize = 10;

/// The header in which Kafka Connect's dead-letter reporter says why.
pub const REASON_HEADER: &str = "__connect.errors.exception.message";

/// Waits until ClickHouse holds exactly `expected` rows of `run` (and still does a moment later).
async fn await_rows(
    ctx: &Context,
    run: &str,
    expected: usize,
    bound: Duration,
) -> Result<String, String> {
    let s = &ctx.settings;
    // Read as the least-privileged user that may (readonly from phase 2; open before).
    let reader = if ctx.phase.enforces_clickhouse_auth() {
        Login::clickhouse(s, &ctx.secrets, ClickHouseRole::Readonly)
    } else {
        None
    };
    let ch = ctx.endpoints.clickhouse(Duration::from_secs(5));
    let sql = format!(
        "SELECT count() FROM {}.{} WHERE run_id = '{run}'",
        s.clickhouse.database, s.pipeline.table
    );
    let started = Instant::now();
    let deadline = started + bound;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        match ch.query(reader.as_ref(), &sql, None).await {
            Ok(a) if a.ok() => match a.body.trim().parse::<usize>() {
                Ok(n) if n == expected => {
                    // Give a duplicate a moment to show before declaring "exactly".
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let again = ch
                        .query(reader.as_ref(), &sql, None)
                        .await
                        .ok()
                        .and_then(|a| a.body.trim().parse::<usize>().ok());
                    return match again {
                        Some(n) if n == expected => Ok(format!(
                            "{expected} of {expected} records in {}.{} after {:.1} s",
                            s.clickhouse.database,
                            s.pipeline.table,
                            started.elapsed().as_secs_f64()
                        )),
                        other => Err(format!(
                            "{expected} rows, then {other:?}: duplicates delivered"
                        )),
                    };
                }
                Ok(n) if n > expected => {
                    return Err(format!(
                        "{n} rows for {expected} records: duplicates delivered"
                    ));
                }
                Ok(n) => last = format!("{n} of {expected} rows"),
                Err(_) => last = format!("count query answered {:?}", a.body.trim()),
            },
            Ok(a) => last = format!("count query refused (code {:?})", a.code),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!(
        "after {} s: {last}. Check the connector (`stackctl status`, `stackctl verify --only connect`, `stackctl logs connect`)",
        bound.as_secs()
    ))
}

/// The first line of each poison record's dead-letter reason, when each is in the dead-letter
/// topic from `topic` with a reason that says `why`.
fn poison_reasons(
    dead: &[Received],
    poison: &[(&str, &str)],
    dlq: &str,
    topic: &str,
) -> Result<Vec<String>, String> {
    let mut reasons = Vec::new();
    for &(value, why) in poison {
        let Some(r) = dead.iter().find(|r| r.value.as_deref() == Some(value)) else {
            return Err(format!(
                "the poison record {value:?} is not in {dlq} after 60 s ({} other record(s) there); see `stackctl logs connect`",
                dead.len()
            ));
        };
        match r.header(REASON_HEADER) {
            Some(reason)
                if reason.contains(why) && r.header("__connect.errors.topic") == Some(topic) =>
            {
                reasons.push(reason.lines().next().unwrap_or(reason).to_string());
            }
            other => {
                return Err(format!(
                    "{value:?} is in {dlq} but its {REASON_HEADER} header is {other:?}, expected it to say {why:?}"
                ));
            }
        }
    }
    Ok(reasons)
}

/// Two poison records (not JSON; JSON ClickHouse rejects) and then good ones: the poison in the
/// dead-letter topic with its reason, every good one in ClickHouse once.
async fn dead_letter(ctx: &Context) -> Outcome {
    let s = &ctx.settings;
    let (Some(app), Some(admin)) = (
        Login::kafka(s, &ctx.secrets, KafkaRole::App),
        Login::kafka(s, &ctx.secrets, KafkaRole::Admin),
    ) else {
        return fail("no secret for app or admin");
    };
    let kafka = ctx.endpoints.kafka();
    let dlq = &s.pipeline.dead_letter_topic;
    // Only what arrives from now on is read back.
    let start = match kafka.watermarks(&admin, dlq).await {
        Ok(w) => w,
        Err(e) => {
            return fail(format!(
                "dead-letter topic {dlq} (pipeline.dead_letter_topic): {e}; `stackctl up` creates it"
            ));
        }
    };
    let run = format!("dlq-{}", ctx.run_id);
    let not_json = format!("hello {run}");
    let rejected = format!("{{\"run_id\":\"{run}\",\"seq\":\"hello\",\"payload\":\"poison\"}}");
    let mut values = vec![not_json.clone(), rejected.clone()];
    values.extend(
        (1..=AFTER_POISON)
            .map(|i| format!("{{\"run_id\":\"{run}\",\"seq\":{i},\"payload\":\"after poison\"}}")),
    );
    if let Err(e) = kafka
        .produce(&app, &s.pipeline.topic, &values, Duration::from_secs(10))
        .await
    {
        return fail(format!(
            "producing to {} as {} failed: {e}",
            s.pipeline.topic, app.user
        ));
    }
    let wanted = [not_json.clone(), rejected.clone()];
    let found = |read: &[Received], v: &str| read.iter().any(|r| r.value.as_deref() == Some(v));
    let enough = move |read: &[Received]| wanted.iter().all(|v| found(read, v));
    // Like pipeline.e2e: a sink whose consumer rejoins after a broker restart may take up to the
    // group session timeout (45 s) to resume; the usual case takes a second or two.
    let (dead, rows) = tokio::join!(
        kafka.read_from(&admin, dlq, &start, enough, Duration::from_secs(60)),
        await_rows(ctx, &run, AFTER_POISON, Duration::from_secs(60)),
    );
    let dead = match dead {
        Ok(d) => d,
        Err(e) => return fail(format!("reading {dlq} as {}: {e}", admin.user)),
    };
    let poison = [
        (not_json.as_str(), "not a JSON object"),
        (rejected.as_str(), "ClickHouse rejected the row"),
    ];
    let reasons = match poison_reasons(&dead, &poison, dlq, &s.pipeline.topic) {
        Ok(reasons) => reasons,
        Err(problem) => return fail(problem),
    };
    match rows {
        Ok(rows) => pass(format!(
            "2 poison records in {dlq} ({}); {rows}",
            reasons.join(" | ")
        )),
        Err(e) => fail(format!(
            "poison records in {dlq}, but the good records after them: {e}"
        )),
    }
}

pub fn checks() -> Vec<Check> {
    vec![
        check!("pipeline.e2e", "pipeline", from KafkaAuth, Positive, 70, "records produced to Kafka arrive in ClickHouse, exactly once", |ctx| {
            let s = &ctx.settings;
            let Some(app) = Login::kafka(s, &ctx.secrets, KafkaRole::App) else { return fail("no secret for app") };
            let run = format!("e2e-{}", ctx.run_id);
            let values: Vec<String> = (1..=RECORDS)
                .map(|i| format!("{{\"run_id\":\"{run}\",\"seq\":{i},\"payload\":\"stackctl verify\"}}"))
                .collect();
            if let Err(e) = ctx.endpoints.kafka().produce(&app, &s.pipeline.topic, &values, Duration::from_secs(10)).await {
                return fail(format!("producing to {} as {} failed: {e}", s.pipeline.topic, app.user));
            }
            // A sink whose consumer is rejoining after a broker restart can take up to the group
            // session timeout (45 s) to resume; beyond a minute something is wrong.
            match await_rows(ctx, &run, RECORDS, Duration::from_secs(60)).await {
                Ok(reason) => pass(reason),
                Err(reason) => fail(reason),
            }
        }),
        check!("pipeline.dead-letter", "pipeline", from KafkaAuth, Negative, 70, "records the sink cannot write go to the dead-letter topic with the reason; the good ones after them arrive exactly once", |ctx| {
            dead_letter(ctx).await
        }),
    ]
}
