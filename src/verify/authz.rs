//! Authorization (required from phase 5): each principal is refused outside its grants with the
//! broker's own authorization error, the broker holds exactly the declared ACLs, and the REST APIs
//! of Connect and Schema Registry refuse missing and wrong logins (401) and login overrides.
//! Below phase 5 nothing is enforced, so these checks do not probe (a probe could then succeed,
//! e.g. join the sink's group) and report a warning.

use std::collections::BTreeSet;
use std::time::Duration;

use rdkafka::error::RDKafkaErrorCode::{
    self, ClusterAuthorizationFailed, GroupAuthorizationFailed, TopicAuthorizationFailed,
};

use super::{Check, Context, Outcome, check, fail, pass};
use crate::clients::Login;
use crate::clients::authz::Access;
use crate::render::FileId;
use crate::secrets::Secret;
use crate::settings::{AclBinding, KafkaRole, RestApi, ServiceKind};

fn enforced(ctx: &Context) -> Result<(), Outcome> {
    if ctx.phase.enforces_authorization() {
        Ok(())
    } else {
        Err(fail(format!(
            "not enforced at phase {}: no authorizer runs and the REST APIs are open (not probed)",
            ctx.phase
        )))
    }
}

fn login(ctx: &Context, role: KafkaRole) -> Result<Login, Outcome> {
    Login::kafka(&ctx.settings, &ctx.secrets, role)
        .ok_or_else(|| fail(format!("no secret loaded for the {role:?} principal")))
}

/// Passes only on one of `codes`, the broker's authorization errors.
fn refused(what: &str, access: Access, codes: &[RDKafkaErrorCode]) -> Outcome {
    match access {
        Access::Refused(code) if codes.contains(&code) => {
            pass(format!("{what}: refused with {code:?}"))
        }
        Access::Refused(code) => fail(format!(
            "{what}: failed with {code:?}, not with {codes:?}: that is no proof of authorization"
        )),
        Access::Allowed => fail(format!(
            "{what}: ALLOWED, but must be refused; check the ACLs in configs/stack.yaml (and `stackctl verify --only authz.acls-as-declared`)"
        )),
        Access::Inconclusive(why) => fail(format!(
            "{what}: no verdict ({why}); a timeout proves nothing"
        )),
    }
}

/// A consumer group `role` may use (only assigned, never joined, by the read probe).
fn own_group(ctx: &Context, role: KafkaRole) -> String {
    let s = &ctx.settings;
    match role {
        KafkaRole::App | KafkaRole::Admin => {
            format!("{}verify-{}", s.kafka.app_group_prefix, ctx.run_id)
        }
        KafkaRole::SchemaRegistry => {
            format!("{}verify-{}", s.schema_registry.group_prefix, ctx.run_id)
        }
        KafkaRole::Connect => format!("connect-{}", s.connect.connector),
    }
}

async fn read_as(ctx: &Context, role: KafkaRole, topic: &str) -> Outcome {
    let l = match enforced(ctx).and_then(|()| login(ctx, role)) {
        Ok(l) => l,
        Err(o) => return o,
    };
    let access = ctx
        .endpoints
        .kafka()
        .probe_read(&l, topic, &own_group(ctx, role))
        .await;
    refused(
        &format!("{} reading {topic}", l.user),
        access,
        &[TopicAuthorizationFailed],
    )
}

async fn produce_as(ctx: &Context, role: KafkaRole, topic: &str) -> Outcome {
    let l = match enforced(ctx).and_then(|()| login(ctx, role)) {
        Ok(l) => l,
        Err(o) => return o,
    };
    let access = ctx.endpoints.kafka().probe_produce(&l, topic).await;
    refused(
        &format!("{} producing to {topic}", l.user),
        access,
        &[TopicAuthorizationFailed],
    )
}

async fn create_topic_as_app(ctx: &Context) -> Outcome {
    let (app, admin) = match enforced(ctx)
        .and_then(|()| Ok((login(ctx, KafkaRole::App)?, login(ctx, KafkaRole::Admin)?)))
    {
        Ok(l) => l,
        Err(o) => return o,
    };
    let name = format!("stackctl-verify-create-{}", ctx.run_id);
    let kafka = ctx.endpoints.kafka();
    let access = kafka.probe_create_topic(&app, &name).await;
    if access == Access::Allowed {
        let _ = kafka.delete_topics(&admin, &[name.as_str()]).await;
    }
    refused(
        &format!("{} creating topic {name}", app.user),
        access,
        &[TopicAuthorizationFailed, ClusterAuthorizationFailed],
    )
}

async fn delete_topic_as_app(ctx: &Context) -> Outcome {
    let (app, admin) = match enforced(ctx)
        .and_then(|()| Ok((login(ctx, KafkaRole::App)?, login(ctx, KafkaRole::Admin)?)))
    {
        Ok(l) => l,
        Err(o) => return o,
    };
    // A topic made for the probe, so a wrongly allowed delete destroys nothing of value.
    let name = format!("stackctl-verify-delete-{}", ctx.run_id);
    let kafka = ctx.endpoints.kafka();
    match kafka.probe_create_topic(&admin, &name).await {
        Access::Allowed => {}
        other => {
            return fail(format!(
                "admin could not create the probe topic {name}: {other:?}"
            ));
        }
    }
    let access = kafka.probe_delete_topic(&app, &name).await;
    let _ = kafka.delete_topics(&admin, &[name.as_str()]).await;
    refused(
        &format!("{} deleting topic {name}", app.user),
        access,
        &[TopicAuthorizationFailed],
    )
}

async fn join_foreign_group(ctx: &Context) -> Outcome {
    let app = match enforced(ctx).and_then(|()| login(ctx, KafkaRole::App)) {
        Ok(l) => l,
        Err(o) => return o,
    };
    let group = format!("connect-{}", ctx.settings.connect.connector);
    let topic = &ctx.settings.pipeline.topic;
    let access = ctx.endpoints.kafka().probe_join(&app, topic, &group).await;
    refused(
        &format!("{} joining group {group} (the sink's)", app.user),
        access,
        &[GroupAuthorizationFailed],
    )
}

/// The broker's ACLs equal the declared set: anything more (or less) is named.
async fn acls_as_declared(ctx: &Context) -> Outcome {
    let admin = match enforced(ctx).and_then(|()| login(ctx, KafkaRole::Admin)) {
        Ok(l) => l,
        Err(o) => return o,
    };
    let (held, unmodelled) = match ctx.endpoints.kafka().acls(&admin).await {
        Ok(acls) => (
            acls.modelled.into_iter().collect::<BTreeSet<AclBinding>>(),
            acls.unmodelled,
        ),
        Err(e) => return fail(format!("DescribeAcls as {}: {e}", admin.user)),
    };
    let declared = ctx.settings.declared_acls();
    let mut extra: Vec<String> = held
        .difference(&declared)
        .map(ToString::to_string)
        .collect();
    // A kind stackctl cannot declare is undeclared by definition.
    extra.extend(
        unmodelled
            .iter()
            .map(|u| format!("{u} [a kind stackctl does not model]")),
    );
    let missing: Vec<String> = declared
        .difference(&held)
        .map(ToString::to_string)
        .collect();
    if extra.is_empty() && missing.is_empty() {
        pass(format!(
            "the broker holds exactly the {} declared bindings",
            declared.len()
        ))
    } else {
        fail(format!(
            "undeclared: [{}]; missing: [{}]; `stackctl up` restores the declared set (configs/stack.yaml kafka.acls)",
            extra.join("; "),
            missing.join("; ")
        ))
    }
}

/// What is wrong with the broker's authorizer settings: `authorizer` is the running broker's
/// `authorizer.class.name`, `allow_everyone` its `allow.everyone.if.no.acl.found` (absent is
/// Kafka's default, false).
pub fn authorizer_findings(authorizer: Option<&str>, allow_everyone: Option<&str>) -> Vec<String> {
    let mut wrong = Vec::new();
    if authorizer.map(str::trim) != Some("org.apache.kafka.metadata.authorizer.StandardAuthorizer")
    {
        wrong.push(format!(
            "authorizer.class.name is {authorizer:?}, not StandardAuthorizer"
        ));
    }
    if allow_everyone.is_some_and(|v| !v.trim().eq_ignore_ascii_case("false")) {
        wrong.push(
            "allow.everyone.if.no.acl.found is true: every resource without an ACL is open".into(),
        );
    }
    wrong
}

/// The running broker's authorizer (DescribeConfigs as admin): it runs and a resource without
/// ACLs is closed (who the super users are is `posture.super-users`). The broker answers for
/// the authorizer class; `allow.everyone.if.no.acl.found` is the authorizer's own key, which
/// the broker may not report — then the copy of server.properties it started from says.
async fn broker_authorizer(ctx: &Context) -> Outcome {
    let admin = match enforced(ctx).and_then(|()| login(ctx, KafkaRole::Admin)) {
        Ok(l) => l,
        Err(o) => return o,
    };
    let keys = ["authorizer.class.name", "allow.everyone.if.no.acl.found"];
    // Validated to fit Kafka's int32 (settings::validate).
    let node = ctx.settings.kafka.node_id.cast_signed();
    let live = match ctx
        .endpoints
        .kafka()
        .broker_config(&admin, node, &keys)
        .await
    {
        Ok(values) => values,
        Err(e) => return fail(format!("cannot read the broker's config as admin: {e}")),
    };
    let (source, allow_everyone) = if let Some(v) = &live[1] {
        ("the running broker".to_string(), Some(v.clone()))
    } else {
        let file = super::posture::properties_in(ctx, ServiceKind::Kafka, FileId::KafkaServer);
        match file.await {
            Ok((at, props)) => (
                format!("the running broker and {at}"),
                props.get(keys[1]).cloned(),
            ),
            Err(e) => return fail(e),
        }
    };
    let wrong = authorizer_findings(live[0].as_deref(), allow_everyone.as_deref());
    if wrong.is_empty() {
        pass(format!(
            "{source}: StandardAuthorizer, no access without an ACL"
        ))
    } else {
        fail(format!(
            "{source}: {} (templates/kafka/server.properties.j2)",
            wrong.join("; ")
        ))
    }
}

/// The status of a GET on a REST API with `login` (None: anonymous), passing only on 401.
async fn rest_refuses(ctx: &Context, api: RestApi, login: Option<Login>, what: &str) -> Outcome {
    if let Err(o) = enforced(ctx) {
        return o;
    }
    let timeout = Duration::from_secs(10);
    let (status, path) = match api {
        RestApi::Connect => (
            ctx.endpoints
                .connect(timeout)
                .with_login(login)
                .status_of("/connectors")
                .await,
            "/connectors",
        ),
        RestApi::SchemaRegistry => (
            ctx.endpoints
                .schema_registry(timeout)
                .with_login(login)
                .status_of("/apis/ccompat/v7/subjects")
                .await,
            "/apis/ccompat/v7/subjects",
        ),
    };
    rest_verdict(what, path, status.map_err(|e| e.to_string()))
}

/// Passes only on HTTP 401; any other status or no answer fails.
fn rest_verdict(what: &str, path: &str, status: Result<u16, String>) -> Outcome {
    match status {
        Ok(401) => pass(format!("{what}: GET {path} → 401")),
        Ok(code) => fail(format!("{what}: GET {path} → {code}, must be 401")),
        Err(e) => fail(format!(
            "{what}: no answer ({e}); a refused connection proves nothing"
        )),
    }
}

fn wrong_login(ctx: &Context, api: RestApi) -> Login {
    Login {
        user: ctx.settings.rest_principal(api).user().to_string(),
        password: Secret::new(format!("wrong-{}", ctx.run_id)),
    }
}

/// A connector that tries to log in as someone else is rejected by the override policy.
async fn login_override_refused(ctx: &Context) -> Outcome {
    if let Err(o) = enforced(ctx) {
        return o;
    }
    let rest = ctx.endpoints.connect(Duration::from_secs(15));
    let name = format!("stackctl-verify-override-{}", ctx.run_id);
    let config = serde_json::json!({
        "connector.class": "io.stackctl.connect.clickhouse.ClickHouseSinkConnector",
        "tasks.max": "1",
        "topics": format!("stackctl-verify-none-{}", ctx.run_id),
        "clickhouse.table": "stackctl_verify.none",
        "consumer.override.sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"guess\";",
    });
    match rest.put_config(&name, &config).await {
        Ok((400, body)) if body.contains("sasl.jaas.config") => pass(format!(
            "PUT /connectors/{name}/config with consumer.override.sasl.jaas.config → 400 (override policy)"
        )),
        Ok((code, body)) => {
            if (200..300).contains(&code) {
                let _ = rest.delete(&name).await;
            }
            fail(format!(
                "a connector overriding its login got HTTP {code} ({}), must be 400 from the override policy (connector.client.config.override.policy)",
                ctx.redactor.redact(body.lines().next().unwrap_or(""))
            ))
        }
        Err(e) => fail(format!("no answer from Connect ({e})")),
    }
}

pub fn checks() -> Vec<Check> {
    vec![
        check!("authz.broker-authorizer", "authz", from Authorization, Negative, 15, "the broker runs StandardAuthorizer, closed to everyone where no ACL is found", |ctx| broker_authorizer(ctx).await),
        check!("authz.acls-as-declared", "authz", from Authorization, Negative, 15, "the broker holds exactly the declared ACLs", |ctx| acls_as_declared(ctx).await),
        check!("authz.app.refuse-read-connect-internal", "authz", from Authorization, Negative, 15, "app cannot read a Connect internal topic", |ctx| {
            read_as(ctx, KafkaRole::App, &ctx.settings.connect.topics.offsets).await
        }),
        check!("authz.app.refuse-produce-connect-internal", "authz", from Authorization, Negative, 15, "app cannot produce to a Connect internal topic", |ctx| {
            produce_as(ctx, KafkaRole::App, &ctx.settings.connect.topics.status).await
        }),
        check!("authz.app.refuse-create-topic", "authz", from Authorization, Negative, 20, "app cannot create a topic", |ctx| create_topic_as_app(ctx).await),
        check!("authz.app.refuse-delete-topic", "authz", from Authorization, Negative, 25, "app cannot delete a topic", |ctx| delete_topic_as_app(ctx).await),
        check!("authz.app.refuse-read-schema-journal", "authz", from Authorization, Negative, 15, "app cannot read the schema journal", |ctx| {
            read_as(ctx, KafkaRole::App, &ctx.settings.schema_registry.topics.journal).await
        }),
        check!("authz.app.refuse-foreign-group", "authz", from Authorization, Negative, 15, "app cannot join another principal's group", |ctx| join_foreign_group(ctx).await),
        check!("authz.connect.refuse-produce-data", "authz", from Authorization, Negative, 15, "connect cannot produce to the data topic", |ctx| {
            produce_as(ctx, KafkaRole::Connect, &ctx.settings.pipeline.topic).await
        }),
        check!("authz.connect.refuse-read-schema-journal", "authz", from Authorization, Negative, 15, "connect cannot read the schema journal", |ctx| {
            read_as(ctx, KafkaRole::Connect, &ctx.settings.schema_registry.topics.journal).await
        }),
        check!("authz.schema-registry.refuse-read-data", "authz", from Authorization, Negative, 15, "schema_registry cannot read the data topic", |ctx| {
            read_as(ctx, KafkaRole::SchemaRegistry, &ctx.settings.pipeline.topic).await
        }),
        check!("authz.connect-rest.refuse-anonymous", "authz", from Authorization, Negative, 10, "Connect REST without credentials → 401", |ctx| {
            rest_refuses(ctx, RestApi::Connect, None, "no credentials").await
        }),
        check!("authz.connect-rest.refuse-wrong-password", "authz", from Authorization, Negative, 10, "Connect REST with a wrong password → 401", |ctx| {
            rest_refuses(ctx, RestApi::Connect, Some(wrong_login(ctx, RestApi::Connect)), "wrong password").await
        }),
        check!("authz.connect-rest.refuse-login-override", "authz", from Authorization, Negative, 15, "a connector cannot override its client login", |ctx| login_override_refused(ctx).await),
        check!("authz.schema-registry-rest.refuse-anonymous", "authz", from Authorization, Negative, 10, "Schema Registry REST without credentials → 401", |ctx| {
            rest_refuses(ctx, RestApi::SchemaRegistry, None, "no credentials").await
        }),
        check!("authz.schema-registry-rest.refuse-wrong-password", "authz", from Authorization, Negative, 10, "Schema Registry REST with a wrong password → 401", |ctx| {
            rest_refuses(ctx, RestApi::SchemaRegistry, Some(wrong_login(ctx, RestApi::SchemaRegistry)), "wrong password").await
        }),
    ]
}

#[cfg(test)]
#[path = "authz_tests.rs"]
mod tests;
