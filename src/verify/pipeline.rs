//! The end-to-end pipeline: N records with a fresh run id, produced as the application principal,
//! arrive in ClickHouse through Connect: exactly N, within a bound.

use std::time::{Duration, Instant};

use super::{Check, check, fail, pass};
use crate::clients::Login;
use crate::settings::{ClickHouseRole, KafkaRole};

/// Records per run.
pub const RECORDS: usize = 20;

pub fn checks() -> Vec<Check> {
    vec![
        check!("pipeline.e2e", "pipeline", from KafkaAuth, Positive, 70, "records produced to Kafka arrive in ClickHouse, exactly once", |ctx| {
            let s = &ctx.settings;
            let Some(app) = Login::kafka(s, &ctx.secrets, KafkaRole::App) else { return fail("no secret for app") };
            let run = format!("e2e-{}", ctx.run_id);
            let values: Vec<String> = (1..=RECORDS)
                .map(|i| format!("{{\"run_id\":\"{run}\",\"seq\":{i},\"payload\":\"stackctl verify\"}}"))
                .collect();
            let started = Instant::now();
            if let Err(e) = ctx.endpoints.kafka().produce(&app, &s.pipeline.topic, &values, Duration::from_secs(10)).await {
                return fail(format!("producing to {} as {} failed: {e}", s.pipeline.topic, app.user));
            }
            // Read as the least-privileged user that may (readonly from phase 2; open before).
            let reader = if ctx.phase.enforces_clickhouse_auth() { Login::clickhouse(s, &ctx.secrets, ClickHouseRole::Readonly) } else { None };
            let ch = ctx.endpoints.clickhouse(Duration::from_secs(5));
            let sql = format!("SELECT count() FROM {}.{} WHERE run_id = '{run}'", s.clickhouse.database, s.pipeline.table);
            // A sink whose consumer is rejoining after a broker restart can take up to the group session
        // timeout (45 s) to resume; beyond a minute something is wrong.
        let deadline = Instant::now() + Duration::from_secs(60);
            let mut last = String::from("no answer yet");
            while Instant::now() < deadline {
                match ch.query(reader.as_ref(), &sql, None).await {
                    Ok(a) if a.ok() => {
                        let n: usize = a.body.trim().parse().unwrap_or(0);
                        if n == RECORDS {
                            // Give a duplicate a moment to show before declaring "exactly".
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            let again = ch.query(reader.as_ref(), &sql, None).await.ok().and_then(|a| a.body.trim().parse::<usize>().ok());
                            return match again {
                                Some(n) if n == RECORDS => pass(format!("{RECORDS} of {RECORDS} records in {}.{} after {:.1} s", s.clickhouse.database, s.pipeline.table, started.elapsed().as_secs_f64())),
                                other => fail(format!("{RECORDS} rows, then {other:?}: duplicates delivered")),
                            };
                        }
                        if n > RECORDS {
                            return fail(format!("{n} rows for {RECORDS} records: duplicates delivered"));
                        }
                        last = format!("{n} of {RECORDS} rows");
                    }
                    Ok(a) => last = format!("count query refused (code {:?})", a.code),
                    Err(e) => last = e.to_string(),
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            fail(format!("after 60 s: {last}. Check the connector (`stackctl verify --only connect`, `stackctl logs connect`)"))
        }),
    ]
}
