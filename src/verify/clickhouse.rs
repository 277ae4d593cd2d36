//! ClickHouse (required from phase 2): no access without credentials or as `default`, wrong
//! password refused, readonly may only SELECT, writer may INSERT but no DDL. Each refusal is
//! matched on its ClickHouse error code (old servers: 192/193/164/392; new: 516/497).

use std::time::Duration;

use super::{Check, Context, Outcome, check, fail, pass};
use crate::clients::Login;
use crate::clients::clickhouse::{Answer, ClickHouse};
use crate::secrets::Secret;
use crate::settings::ClickHouseRole;

/// Codes that prove an authentication refusal.
const UNKNOWN_USER: &[u32] = &[192, 516];
const WRONG_PASSWORD: &[u32] = &[193, 516];
/// readonly=1 (164) or a missing grant (497).
const READONLY: &[u32] = &[164, 497];
/// allow_ddl=0 (392) or a missing grant (497).
const NO_DDL: &[u32] = &[392, 497];

fn ch(ctx: &Context) -> ClickHouse {
    ctx.endpoints.clickhouse(Duration::from_secs(10))
}

fn login(ctx: &Context, role: ClickHouseRole) -> Option<Login> {
    Login::clickhouse(&ctx.settings, &ctx.secrets, role)
}

fn target(ctx: &Context) -> String {
    format!(
        "{}.{}",
        ctx.settings.clickhouse.database, ctx.settings.pipeline.table
    )
}

/// Runs `sql` and passes only if ClickHouse refuses it with one of `codes`.
async fn expect_refusal(
    ctx: &Context,
    login: Option<&Login>,
    sql: &str,
    data: Option<&str>,
    codes: &[u32],
    fix: &str,
) -> Outcome {
    let answer = ch(ctx).query(login, sql, data).await.map_err(|e| {
        format!(
            "no answer from ClickHouse on port {}: {e}",
            ctx.settings.clickhouse.host_http_port
        )
    });
    refusal_verdict(answer, codes, fix)
}

/// Passes only on an answer carrying one of `codes` (ClickHouse exception codes).
fn refusal_verdict(answer: Result<Answer, String>, codes: &[u32], fix: &str) -> Outcome {
    match answer {
        Ok(Answer {
            code: Some(code),
            status,
            ..
        }) if codes.contains(&code) => pass(format!("refused with code {code} (HTTP {status})")),
        Ok(a) if a.ok() => fail(format!("ALLOWED (HTTP 200) but must be refused; {fix}")),
        Ok(a) => fail(format!(
            "refused, but with code {:?} (HTTP {}), expected one of {codes:?}: {}",
            a.code,
            a.status,
            a.body
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(160)
                .collect::<String>()
        )),
        Err(e) => fail(e),
    }
}

async fn expect_ok(ctx: &Context, login: Option<&Login>, sql: &str, data: Option<&str>) -> Outcome {
    match ch(ctx).query(login, sql, data).await {
        Ok(a) if a.ok() => pass("allowed (HTTP 200)"),
        Ok(a) => fail(format!(
            "refused with code {:?} (HTTP {}); check clickhouse/users.d/stackctl-users.xml",
            a.code, a.status
        )),
        Err(e) => fail(format!("no answer from ClickHouse: {e}")),
    }
}

/// A throwaway table owned by admin, so a broken writer privilege can only hurt it.
async fn with_victim<F, Fut>(ctx: &Context, name: &str, body: F) -> Outcome
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let Some(admin) = login(ctx, ClickHouseRole::Admin) else {
        return fail("no secret for the ClickHouse admin");
    };
    let table = format!(
        "{}.verify_{name}_{}",
        ctx.settings.clickhouse.database,
        ctx.run_id.replace('-', "_")
    );
    let create = format!("CREATE TABLE IF NOT EXISTS {table} (x UInt8) ENGINE = Memory");
    match ch(ctx).query(Some(&admin), &create, None).await {
        Ok(a) if a.ok() => {}
        Ok(a) => {
            return fail(format!(
                "admin could not create a scratch table (code {:?})",
                a.code
            ));
        }
        Err(e) => return fail(format!("no answer from ClickHouse: {e}")),
    }
    let outcome = body(table.clone()).await;
    let _ = ch(ctx)
        .query(Some(&admin), &format!("DROP TABLE IF EXISTS {table}"), None)
        .await;
    outcome
}

pub fn checks() -> Vec<Check> {
    vec![
        check!("clickhouse.refuse.no-credentials", "clickhouse", from ClickHouseAuth, Negative, 10, "a request without credentials is refused", |ctx| {
            expect_refusal(ctx, None, "SELECT 1", None, UNKNOWN_USER, "the default user must be removed (phase 2 users.d)").await
        }),
        check!("clickhouse.refuse.default-user", "clickhouse", from ClickHouseAuth, Negative, 10, "the default user is refused", |ctx| {
            let default = Login { user: "default".into(), password: Secret::new(String::new()) };
            expect_refusal(ctx, Some(&default), "SELECT 1", None, UNKNOWN_USER, "remove <default> in users.d").await
        }),
        check!("clickhouse.refuse.wrong-password", "clickhouse", from ClickHouseAuth, Negative, 10, "a wrong password is refused", |ctx| {
            let Some(admin) = login(ctx, ClickHouseRole::Admin) else { return fail("no secret for admin") };
            let wrong = Login { user: admin.user.clone(), password: Secret::new(format!("{}x", admin.password.expose())) };
            expect_refusal(ctx, Some(&wrong), "SELECT 1", None, WRONG_PASSWORD, "passwords must be enforced").await
        }),
        check!("clickhouse.readonly.select", "clickhouse", from ClickHouseAuth, Positive, 10, "readonly can SELECT", |ctx| {
            let Some(ro) = login(ctx, ClickHouseRole::Readonly) else { return fail("no secret for readonly") };
            expect_ok(ctx, Some(&ro), &format!("SELECT count() FROM {}", target(ctx)), None).await
        }),
        check!("clickhouse.readonly.refuse-insert", "clickhouse", from ClickHouseAuth, Negative, 10, "readonly cannot INSERT", |ctx| {
            let Some(ro) = login(ctx, ClickHouseRole::Readonly) else { return fail("no secret for readonly") };
            let row = format!("{{\"run_id\":\"verify-ro-{}\",\"seq\":1,\"payload\":\"must-not-land\"}}", ctx.run_id);
            expect_refusal(ctx, Some(&ro), &format!("INSERT INTO {} FORMAT JSONEachRow", target(ctx)), Some(&row), READONLY, "the readonly user's profile must set readonly=1").await
        }),
        check!("clickhouse.readonly.refuse-create", "clickhouse", from ClickHouseAuth, Negative, 10, "readonly cannot CREATE", |ctx| {
            let Some(ro) = login(ctx, ClickHouseRole::Readonly) else { return fail("no secret for readonly") };
            let table = format!("{}.verify_ro_{}", ctx.settings.clickhouse.database, ctx.run_id.replace('-', "_"));
            let outcome = expect_refusal(ctx, Some(&ro), &format!("CREATE TABLE {table} (x UInt8) ENGINE = Memory"), None, READONLY, "the readonly user's profile must set readonly=1").await;
            if matches!(outcome, Outcome::Fail(_)) && let Some(admin) = login(ctx, ClickHouseRole::Admin) {
                let _ = ch(ctx).query(Some(&admin), &format!("DROP TABLE IF EXISTS {table}"), None).await;
            }
            outcome
        }),
        check!("clickhouse.writer.insert", "clickhouse", from ClickHouseAuth, Positive, 10, "writer can INSERT into the target table", |ctx| {
            let Some(w) = login(ctx, ClickHouseRole::Writer) else { return fail("no secret for writer") };
            let row = format!("{{\"run_id\":\"verify-w-{}\",\"seq\":1,\"payload\":\"writer\"}}", ctx.run_id);
            expect_ok(ctx, Some(&w), &format!("INSERT INTO {} FORMAT JSONEachRow", target(ctx)), Some(&row)).await
        }),
        check!("clickhouse.writer.refuse-drop", "clickhouse", from ClickHouseAuth, Negative, 15, "writer cannot DROP", |ctx| {
            let Some(w) = login(ctx, ClickHouseRole::Writer) else { return fail("no secret for writer") };
            with_victim(ctx, "drop", |table| async move {
                expect_refusal(ctx, Some(&w), &format!("DROP TABLE {table}"), None, NO_DDL, "the writer profile must set allow_ddl=0").await
            }).await
        }),
        check!("clickhouse.writer.refuse-alter", "clickhouse", from ClickHouseAuth, Negative, 15, "writer cannot ALTER", |ctx| {
            let Some(w) = login(ctx, ClickHouseRole::Writer) else { return fail("no secret for writer") };
            with_victim(ctx, "alter", |table| async move {
                expect_refusal(ctx, Some(&w), &format!("ALTER TABLE {table} ADD COLUMN y UInt8"), None, NO_DDL, "the writer profile must set allow_ddl=0").await
            }).await
        }),
        check!("clickhouse.writer.refuse-create", "clickhouse", from ClickHouseAuth, Negative, 10, "writer cannot CREATE", |ctx| {
            let Some(w) = login(ctx, ClickHouseRole::Writer) else { return fail("no secret for writer") };
            let table = format!("{}.verify_w_{}", ctx.settings.clickhouse.database, ctx.run_id.replace('-', "_"));
            let outcome = expect_refusal(ctx, Some(&w), &format!("CREATE TABLE {table} (x UInt8) ENGINE = Memory"), None, NO_DDL, "the writer profile must set allow_ddl=0").await;
            if matches!(outcome, Outcome::Fail(_)) && let Some(admin) = login(ctx, ClickHouseRole::Admin) {
                let _ = ch(ctx).query(Some(&admin), &format!("DROP TABLE IF EXISTS {table}"), None).await;
            }
            outcome
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, code: Option<u32>) -> Answer {
        Answer {
            status,
            body: code
                .map(|c| format!("Code: {c}. DB::Exception"))
                .unwrap_or_default(),
            code,
        }
    }

    #[test]
    fn only_the_expected_exception_codes_are_a_refusal() {
        let codes = [497, 164];
        assert!(matches!(
            refusal_verdict(Ok(answer(500, Some(497))), &codes, "fix"),
            Outcome::Pass(_)
        ));
        assert!(matches!(
            refusal_verdict(Ok(answer(500, Some(164))), &codes, "fix"),
            Outcome::Pass(_)
        ));
        for look_alike in [
            Ok(answer(200, None)),
            Ok(answer(500, Some(516))),
            Ok(answer(500, Some(60))),
            Ok(answer(502, None)),
            Err("no answer from ClickHouse on port 18123: connection refused".into()),
        ] {
            let verdict = refusal_verdict(look_alike.clone(), &codes, "fix");
            assert!(matches!(verdict, Outcome::Fail(_)), "{look_alike:?}");
        }
    }
}
