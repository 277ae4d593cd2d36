//! Kafka ACLs through the Admin API (CreateAcls, DescribeAcls, DeleteAcls). rust-rdkafka does not
//! wrap these calls and librdkafka has them: [`ffi`] is a small safe wrapper over its C API, used
//! here on blocking threads. (Kafka's own kafka-acls tool would need a JVM per call inside the
//! broker container and would tie stackctl to the broker image; a hand-written protocol client is
//! out of the question.)

mod convert;
#[allow(
    unsafe_code,
    reason = "the only FFI in the crate: librdkafka's ACL calls, wrapped in owning guards"
)]
mod ffi;

use std::collections::BTreeSet;
use std::time::Duration;

pub use convert::{HeldAcl, HeldAcls, UnmodelledAcl};
pub use ffi::{AclAdmin, AclError};

use super::Login;
use super::kafka::{Kafka, Security};
use crate::settings::AclBinding;

/// What [`Kafka::sync_acls`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AclSync {
    pub created: Vec<AclBinding>,
    /// Bindings the broker held that the settings do not declare (drift), now gone.
    pub removed: Vec<AclBinding>,
    /// Bindings of kinds stackctl does not model (never declared, so always drift), now gone;
    /// as [`UnmodelledAcl`]'s text.
    pub removed_unmodelled: Vec<String>,
    pub kept: usize,
}

impl Kafka {
    fn acl_admin(&self, login: &Login, bound: Duration) -> Result<AclAdmin, AclError> {
        AclAdmin::new(&self.config(&Security::Sasl(login.clone())), bound)
    }

    /// Every binding the broker holds (as `login`, who needs Describe on the cluster), of kinds
    /// stackctl models or not.
    pub async fn acls(&self, login: &Login) -> Result<HeldAcls, AclError> {
        let admin = self.acl_admin(login, ACL_BOUND)?;
        blocking(move || admin.describe()).await
    }

    /// Creates `bindings` as `login` (tests use it to break the declared set on purpose).
    pub async fn create_acls(
        &self,
        login: &Login,
        bindings: &[AclBinding],
    ) -> Result<(), AclError> {
        let admin = self.acl_admin(login, ACL_BOUND)?;
        let bindings = bindings.to_vec();
        blocking(move || admin.create(&bindings)).await
    }

    /// Makes the broker hold exactly `declared`: deletes what is not declared (including every
    /// binding of a kind stackctl does not model), then creates what is missing — read again,
    /// since deleting an unmodelled binding may take declared ones sharing its filter with it.
    /// Idempotent: a second run changes nothing.
    pub async fn sync_acls(
        &self,
        login: &Login,
        declared: &BTreeSet<AclBinding>,
    ) -> Result<AclSync, AclError> {
        let admin = self.acl_admin(login, ACL_BOUND)?;
        let declared = declared.clone();
        blocking(move || {
            let before = admin.describe()?;
            let held: BTreeSet<AclBinding> = before.modelled.into_iter().collect();
            let extra: Vec<AclBinding> = held.difference(&declared).cloned().collect();
            let removed = admin.delete(&extra)?;
            let swept = admin.delete_unmodelled(&before.unmodelled)?;
            let now: BTreeSet<AclBinding> = if swept.modelled.is_empty() {
                held.intersection(&declared).cloned().collect()
            } else {
                admin.describe()?.modelled.into_iter().collect()
            };
            let missing: Vec<AclBinding> = declared.difference(&now).cloned().collect();
            admin.create(&missing)?;
            Ok(AclSync {
                kept: held.intersection(&declared).count(),
                created: missing,
                removed: removed.modelled,
                removed_unmodelled: swept.unmodelled.iter().map(ToString::to_string).collect(),
            })
        })
        .await
    }
}

/// The bound of one ACL admin call.
const ACL_BOUND: Duration = Duration::from_secs(10);

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AclError> + Send + 'static,
) -> Result<T, AclError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AclError::Client {
            call: "ACL call",
            message: format!("the worker thread failed: {e}"),
        })?
}
