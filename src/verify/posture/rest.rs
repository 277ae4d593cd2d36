//! The REST APIs accept exactly the declared logins (phase 5): the users in Connect's credentials
//! file (which the login module reads at each request; an empty file would let everyone in) and
//! Apicurio's embedded users, read from the running containers' own copies. Names only.

use std::collections::{BTreeMap, BTreeSet};

use super::properties_in;
use crate::render::FileId;
use crate::settings::{RestApi, ServiceKind, Settings};
use crate::verify::{Context, Outcome, fail, pass};

const EMBEDDED_USERS: &str = "quarkus.security.users.embedded.users.";

/// What is more than declared in the two REST login stores.
pub(super) fn rest_findings(
    settings: &Settings,
    connect_credentials: &BTreeMap<String, String>,
    registry: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut more = Vec::new();
    let connect_user = settings.rest_principal(RestApi::Connect).user().to_string();
    let connect: BTreeSet<&String> = connect_credentials.keys().collect();
    if connect.is_empty() {
        more.push(
            "Connect's REST credentials file is empty: its login module then lets every request in"
                .into(),
        );
    }
    for extra in connect.iter().filter(|u| **u != &connect_user) {
        more.push(format!("Connect REST accepts undeclared login {extra}"));
    }
    let registry_user = settings
        .rest_principal(RestApi::SchemaRegistry)
        .user()
        .to_string();
    for extra in registry
        .keys()
        .filter_map(|k| k.strip_prefix(EMBEDDED_USERS))
        .filter(|u| *u != registry_user)
    {
        more.push(format!(
            "Schema Registry REST accepts undeclared login {extra}"
        ));
    }
    let setting = |k: &str| registry.get(k).map(|v| v.trim().to_ascii_lowercase());
    if setting("quarkus.http.auth.basic").as_deref() != Some("true") {
        more.push("Schema Registry REST does not demand a login (quarkus.http.auth.basic)".into());
    }
    if setting("quarkus.security.users.embedded.plain-text").as_deref() == Some("true") {
        more.push("Schema Registry stores its REST passwords in plain text".into());
    }
    more
}

pub(super) async fn rest_logins(ctx: &Context) -> Outcome {
    if !ctx.phase.enforces_authorization() {
        return fail(format!(
            "not enforced at phase {}: the REST APIs are open",
            ctx.phase
        ));
    }
    let (creds_at, creds) =
        match properties_in(ctx, ServiceKind::Connect, FileId::ConnectRestCredentials).await {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
    let (_, registry) = match properties_in(
        ctx,
        ServiceKind::SchemaRegistry,
        FileId::SchemaRegistryConfig,
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let more = rest_findings(&ctx.settings, &creds, &registry);
    if more.is_empty() {
        pass(format!(
            "{creds_at} and the registry's embedded realm hold only the declared logins"
        ))
    } else {
        fail(more.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{self, TemplateSet};
    use crate::secrets::SecretSet;
    use crate::settings::Phase;
    use crate::verify::posture::parse;

    #[test]
    fn the_rendered_logins_are_exactly_the_declared_ones_and_a_backdoor_is_named() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let settings = Settings::load(root).expect("settings");
        let secrets = SecretSet::fixture(&settings.principals());
        let plan =
            render::plan(&settings, &secrets, Phase::MAX, &TemplateSet::embedded()).expect("plan");
        let props = |id: FileId| {
            parse::properties(plan.contents(id).expect("file").as_bytes()).expect("properties")
        };
        let (creds, registry) = (
            props(FileId::ConnectRestCredentials),
            props(FileId::SchemaRegistryConfig),
        );
        assert_eq!(
            rest_findings(&settings, &creds, &registry),
            Vec::<String>::new()
        );
        let mut backdoor = creds.clone();
        backdoor.insert("mallory".into(), "x".into());
        assert_eq!(
            rest_findings(&settings, &backdoor, &registry),
            ["Connect REST accepts undeclared login mallory"]
        );
        let found = rest_findings(&settings, &BTreeMap::new(), &registry);
        assert!(found[0].contains("empty"), "{found:?}");
    }
}
