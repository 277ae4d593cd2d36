//! The small safe wrapper over librdkafka's ACL calls (`rdkafka::bindings`): every pointer is
//! owned by a guard that frees it, each call has its own result queue and a bound, and results are
//! copied into owned [`AclBinding`]s before anything is freed. Calls block: run them on a blocking
//! thread.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::ptr::NonNull;
use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::bindings as rd;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

use super::convert::{
    HeldAcl, HeldAcls, UnmodelledAcl, operation, operation_back, pattern_type, pattern_type_back,
    resource_type, resource_type_back,
};
use crate::settings::AclBinding;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AclError {
    /// The broker answered with an error code (e.g. SECURITY_DISABLED without an authorizer,
    /// CLUSTER_AUTHORIZATION_FAILED for a principal that may not manage ACLs).
    #[error("{call}: the broker answered {code:?}: {message}")]
    Broker {
        call: &'static str,
        code: RDKafkaErrorCode,
        message: String,
    },
    #[error("{call}: no answer within {} s", .bound.as_secs())]
    Timeout { call: &'static str, bound: Duration },
    #[error("{call}: {message}")]
    Client { call: &'static str, message: String },
}

/// Owns a librdkafka object and frees it with `free` when dropped.
struct Owned<T> {
    ptr: NonNull<T>,
    free: unsafe extern "C" fn(*mut T),
}

impl<T> Owned<T> {
    /// Takes ownership of `ptr`; None when it is null.
    fn new(ptr: *mut T, free: unsafe extern "C" fn(*mut T)) -> Option<Owned<T>> {
        NonNull::new(ptr).map(|ptr| Owned { ptr, free })
    }

    fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from the librdkafka constructor matching `free`, and is freed once.
        unsafe { (self.free)(self.ptr.as_ptr()) }
    }
}

fn cstring(call: &'static str, s: &str) -> Result<CString, AclError> {
    CString::new(s).map_err(|_| AclError::Client {
        call,
        message: format!("`{s}` holds a NUL byte"),
    })
}

/// Copies a C string librdkafka owns (None for null).
///
/// SAFETY: `p` is null or a valid NUL-terminated string that outlives this call.
unsafe fn text(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// The code and message of an `rd_kafka_error_t` (None: no error).
///
/// SAFETY: `e` is null or a valid error object that outlives this call.
unsafe fn error_of(e: *const rd::rd_kafka_error_t) -> Option<(RDKafkaErrorCode, String)> {
    if e.is_null() {
        return None;
    }
    let code = RDKafkaErrorCode::from(unsafe { rd::rd_kafka_error_code(e) });
    let message = unsafe { text(rd::rd_kafka_error_string(e)) }.unwrap_or_default();
    Some((code, message))
}

/// A new binding (`filter`: a filter for Describe/Delete, where None fields match anything).
fn new_binding(
    call: &'static str,
    b: &AclBinding,
) -> Result<Owned<rd::rd_kafka_AclBinding_t>, AclError> {
    let name = cstring(call, &b.name)?;
    let principal = cstring(call, &b.principal)?;
    let host = cstring(call, &b.host)?;
    let mut errstr = [0 as c_char; 512];
    let permission = if b.allow {
        rd::rd_kafka_AclPermissionType_t::RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW
    } else {
        rd::rd_kafka_AclPermissionType_t::RD_KAFKA_ACL_PERMISSION_TYPE_DENY
    };
    // SAFETY: the strings are valid for the call (librdkafka copies them); errstr is writable.
    let ptr = unsafe {
        rd::rd_kafka_AclBinding_new(
            resource_type(b.resource),
            name.as_ptr(),
            pattern_type(b.pattern),
            principal.as_ptr(),
            host.as_ptr(),
            operation(b.operation),
            permission,
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    Owned::new(ptr, rd::rd_kafka_AclBinding_destroy).ok_or_else(|| AclError::Client {
        call,
        // SAFETY: librdkafka wrote a NUL-terminated message into errstr.
        message: unsafe { text(errstr.as_ptr()) }.unwrap_or_default(),
    })
}

/// A filter that matches every binding of every principal.
fn match_all() -> Result<Owned<rd::rd_kafka_AclBindingFilter_t>, AclError> {
    use rd::rd_kafka_AclOperation_t::RD_KAFKA_ACL_OPERATION_ANY;
    use rd::rd_kafka_AclPermissionType_t::RD_KAFKA_ACL_PERMISSION_TYPE_ANY;
    use rd::rd_kafka_ResourcePatternType_t::RD_KAFKA_RESOURCE_PATTERN_ANY;
    use rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_ANY;
    let any = UnmodelledAcl {
        principal: String::new(),
        host: String::new(),
        name: String::new(),
        restype: RD_KAFKA_RESOURCE_ANY,
        pattern: RD_KAFKA_RESOURCE_PATTERN_ANY,
        operation: RD_KAFKA_ACL_OPERATION_ANY,
        permission: RD_KAFKA_ACL_PERMISSION_TYPE_ANY,
    };
    new_filter("DescribeAcls", &any, true)
}

/// The narrowest filter librdkafka can build for `u`: its known fields exact, each UNKNOWN one
/// (which a filter cannot carry) as ANY. With `any_text`, empty strings match anything.
fn new_filter(
    call: &'static str,
    u: &UnmodelledAcl,
    any_text: bool,
) -> Result<Owned<rd::rd_kafka_AclBindingFilter_t>, AclError> {
    use rd::rd_kafka_AclOperation_t::{RD_KAFKA_ACL_OPERATION_ANY, RD_KAFKA_ACL_OPERATION_UNKNOWN};
    use rd::rd_kafka_AclPermissionType_t::{
        RD_KAFKA_ACL_PERMISSION_TYPE_ANY, RD_KAFKA_ACL_PERMISSION_TYPE_UNKNOWN,
    };
    use rd::rd_kafka_ResourcePatternType_t::{
        RD_KAFKA_RESOURCE_PATTERN_ANY, RD_KAFKA_RESOURCE_PATTERN_UNKNOWN,
    };
    use rd::rd_kafka_ResourceType_t::{RD_KAFKA_RESOURCE_ANY, RD_KAFKA_RESOURCE_UNKNOWN};
    let cstr = |s: &str| -> Result<Option<CString>, AclError> {
        (!(any_text && s.is_empty()))
            .then(|| cstring(call, s))
            .transpose()
    };
    let (name, principal, host) = (cstr(&u.name)?, cstr(&u.principal)?, cstr(&u.host)?);
    let ptr_of = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    let restype = match u.restype {
        RD_KAFKA_RESOURCE_UNKNOWN => RD_KAFKA_RESOURCE_ANY,
        r => r,
    };
    let pattern = match u.pattern {
        RD_KAFKA_RESOURCE_PATTERN_UNKNOWN => RD_KAFKA_RESOURCE_PATTERN_ANY,
        p => p,
    };
    let operation = match u.operation {
        RD_KAFKA_ACL_OPERATION_UNKNOWN => RD_KAFKA_ACL_OPERATION_ANY,
        o => o,
    };
    let permission = match u.permission {
        RD_KAFKA_ACL_PERMISSION_TYPE_UNKNOWN => RD_KAFKA_ACL_PERMISSION_TYPE_ANY,
        p => p,
    };
    let mut errstr = [0 as c_char; 512];
    // SAFETY: the strings are null ("any") or valid for the call; errstr is writable.
    let ptr = unsafe {
        rd::rd_kafka_AclBindingFilter_new(
            restype,
            ptr_of(&name),
            pattern,
            ptr_of(&principal),
            ptr_of(&host),
            operation,
            permission,
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    Owned::new(ptr, rd::rd_kafka_AclBinding_destroy).ok_or_else(|| AclError::Client {
        call,
        // SAFETY: librdkafka wrote a NUL-terminated message into errstr.
        message: unsafe { text(errstr.as_ptr()) }.unwrap_or_default(),
    })
}

/// Reads a binding librdkafka returned into an owned one: in stackctl's vocabulary where every
/// field has a word there, otherwise as an [`UnmodelledAcl`] (never dropped).
///
/// SAFETY: `b` is a valid binding that outlives this call.
unsafe fn read_binding(b: *const rd::rd_kafka_AclBinding_t) -> HeldAcl {
    use rd::rd_kafka_AclPermissionType_t::{
        RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, RD_KAFKA_ACL_PERMISSION_TYPE_DENY,
    };
    // librdkafka reports any code it does not know as UNKNOWN, so the enums are always valid.
    let raw = unsafe {
        UnmodelledAcl {
            principal: text(rd::rd_kafka_AclBinding_principal(b)).unwrap_or_default(),
            host: text(rd::rd_kafka_AclBinding_host(b)).unwrap_or_default(),
            name: text(rd::rd_kafka_AclBinding_name(b)).unwrap_or_default(),
            restype: rd::rd_kafka_AclBinding_restype(b),
            pattern: rd::rd_kafka_AclBinding_resource_pattern_type(b),
            operation: rd::rd_kafka_AclBinding_operation(b),
            permission: rd::rd_kafka_AclBinding_permission_type(b),
        }
    };
    let allow = match raw.permission {
        RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW => Some(true),
        RD_KAFKA_ACL_PERMISSION_TYPE_DENY => Some(false),
        _ => None,
    };
    let modelled = (|| {
        Some(AclBinding {
            resource: resource_type_back(raw.restype)?,
            name: raw.name.clone(),
            pattern: pattern_type_back(raw.pattern)?,
            principal: raw.principal.clone(),
            host: raw.host.clone(),
            operation: operation_back(raw.operation)?,
            allow: allow?,
        })
    })();
    modelled.map_or(HeldAcl::Unmodelled(raw), HeldAcl::Modelled)
}

/// One admin call: a fresh queue, options with a request timeout, the call, then the one result
/// event of `event_type` (or the call's error).
struct Call<'a> {
    admin: &'a AdminClient<DefaultClientContext>,
    name: &'static str,
    bound: Duration,
}

impl Call<'_> {
    fn run(
        &self,
        op: rd::rd_kafka_admin_op_t,
        event_type: i32,
        start: impl FnOnce(
            *mut rd::rd_kafka_t,
            *const rd::rd_kafka_AdminOptions_t,
            *mut rd::rd_kafka_queue_t,
        ),
    ) -> Result<Owned<rd::rd_kafka_event_t>, AclError> {
        let rk = self.admin.inner().native_ptr();
        let client = |message: &str| AclError::Client {
            call: self.name,
            message: message.to_string(),
        };
        // SAFETY: rk is the live handle of `admin`, which outlives this call.
        let queue = Owned::new(
            unsafe { rd::rd_kafka_queue_new(rk) },
            rd::rd_kafka_queue_destroy,
        )
        .ok_or_else(|| client("no result queue"))?;
        // SAFETY: as above.
        let options = Owned::new(
            unsafe { rd::rd_kafka_AdminOptions_new(rk, op) },
            rd::rd_kafka_AdminOptions_destroy,
        )
        .ok_or_else(|| client("no admin options"))?;
        let millis = i32::try_from(self.bound.as_millis()).unwrap_or(i32::MAX);
        let mut errstr = [0 as c_char; 512];
        // SAFETY: options is live; errstr is writable.
        let err = unsafe {
            rd::rd_kafka_AdminOptions_set_request_timeout(
                options.as_ptr(),
                millis,
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            // SAFETY: librdkafka wrote a NUL-terminated message.
            return Err(client(
                &unsafe { text(errstr.as_ptr()) }.unwrap_or_default(),
            ));
        }
        start(rk, options.as_ptr(), queue.as_ptr());
        // The request times out on the broker side first; the margin covers the answer.
        let wait = millis.saturating_add(2000);
        // SAFETY: the queue is live; the event returned is ours to destroy.
        let event = Owned::new(
            unsafe { rd::rd_kafka_queue_poll(queue.as_ptr(), wait) },
            rd::rd_kafka_event_destroy,
        )
        .ok_or(AclError::Timeout {
            call: self.name,
            bound: self.bound,
        })?;
        // SAFETY: event is live.
        let (kind, err) = unsafe {
            (
                rd::rd_kafka_event_type(event.as_ptr()),
                rd::rd_kafka_event_error(event.as_ptr()),
            )
        };
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(AclError::Broker {
                call: self.name,
                code: RDKafkaErrorCode::from(err),
                // SAFETY: event is live; the string belongs to it.
                message: unsafe { text(rd::rd_kafka_event_error_string(event.as_ptr())) }
                    .unwrap_or_default(),
            });
        }
        if kind != event_type {
            return Err(client(&format!("unexpected result event type {kind}")));
        }
        Ok(event)
    }
}

/// A connected admin client for ACL calls.
pub struct AclAdmin {
    admin: AdminClient<DefaultClientContext>,
    bound: Duration,
}

impl AclAdmin {
    pub fn new(config: &ClientConfig, bound: Duration) -> Result<AclAdmin, AclError> {
        let admin = config
            .create()
            .map_err(|e: rdkafka::error::KafkaError| AclError::Client {
                call: "admin client",
                message: e.to_string(),
            })?;
        Ok(AclAdmin { admin, bound })
    }

    fn call(&self, name: &'static str) -> Call<'_> {
        Call {
            admin: &self.admin,
            name,
            bound: self.bound,
        }
    }

    /// Every binding the broker holds, whether stackctl models its kind or not.
    pub fn describe(&self) -> Result<HeldAcls, AclError> {
        let filter = match_all()?;
        let event = self.call("DescribeAcls").run(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBEACLS,
            rd::RD_KAFKA_EVENT_DESCRIBEACLS_RESULT,
            // SAFETY: every pointer is live for the call; librdkafka copies the filter.
            |rk, options, queue| unsafe {
                rd::rd_kafka_DescribeAcls(rk, filter.as_ptr(), options, queue);
            },
        )?;
        // SAFETY: the event is a DescribeAcls result; the array and bindings belong to it and
        // are read before it is dropped.
        unsafe {
            let result = rd::rd_kafka_event_DescribeAcls_result(event.as_ptr());
            let mut count = 0usize;
            let acls = rd::rd_kafka_DescribeAcls_result_acls(result, &raw mut count);
            Ok((0..count).map(|i| read_binding(*acls.add(i))).collect())
        }
    }

    /// Creates `bindings` (existing ones are kept as they are).
    pub fn create(&self, bindings: &[AclBinding]) -> Result<(), AclError> {
        if bindings.is_empty() {
            return Ok(());
        }
        let owned = bindings
            .iter()
            .map(|b| new_binding("CreateAcls", b))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ptrs: Vec<*mut rd::rd_kafka_AclBinding_t> =
            owned.iter().map(Owned::as_ptr).collect();
        let event = self.call("CreateAcls").run(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATEACLS,
            rd::RD_KAFKA_EVENT_CREATEACLS_RESULT,
            // SAFETY: the array and bindings are live for the call; librdkafka copies them.
            |rk, options, queue| unsafe {
                rd::rd_kafka_CreateAcls(rk, ptrs.as_mut_ptr(), ptrs.len(), options, queue);
            },
        )?;
        // SAFETY: the event is a CreateAcls result; its per-binding results belong to it.
        unsafe {
            let result = rd::rd_kafka_event_CreateAcls_result(event.as_ptr());
            let mut count = 0usize;
            let results = rd::rd_kafka_CreateAcls_result_acls(result, &raw mut count);
            for i in 0..count {
                if let Some((code, message)) =
                    error_of(rd::rd_kafka_acl_result_error(*results.add(i)))
                {
                    return Err(AclError::Broker {
                        call: "CreateAcls",
                        code,
                        message: format!(
                            "{} ({message})",
                            bindings.get(i).map(ToString::to_string).unwrap_or_default()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Deletes exactly `bindings` (each used as an exact filter); returns what was deleted.
    pub fn delete(&self, bindings: &[AclBinding]) -> Result<HeldAcls, AclError> {
        let owned = bindings
            .iter()
            .map(|b| new_binding("DeleteAcls", b))
            .collect::<Result<Vec<_>, _>>()?;
        self.delete_matching(&owned)
    }

    /// Deletes `acls`, each through the narrowest filter librdkafka can build (see
    /// [`new_filter`]); returns everything that matched.
    pub fn delete_unmodelled(&self, acls: &[UnmodelledAcl]) -> Result<HeldAcls, AclError> {
        let owned = acls
            .iter()
            .map(|u| new_filter("DeleteAcls", u, false))
            .collect::<Result<Vec<_>, _>>()?;
        self.delete_matching(&owned)
    }

    fn delete_matching(
        &self,
        owned: &[Owned<rd::rd_kafka_AclBindingFilter_t>],
    ) -> Result<HeldAcls, AclError> {
        if owned.is_empty() {
            return Ok(HeldAcls::default());
        }
        let mut ptrs: Vec<*mut rd::rd_kafka_AclBinding_t> =
            owned.iter().map(Owned::as_ptr).collect();
        let event = self.call("DeleteAcls").run(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETEACLS,
            rd::RD_KAFKA_EVENT_DELETEACLS_RESULT,
            // SAFETY: the array and filters are live for the call; librdkafka copies them.
            |rk, options, queue| unsafe {
                rd::rd_kafka_DeleteAcls(rk, ptrs.as_mut_ptr(), ptrs.len(), options, queue);
            },
        )?;
        let mut deleted = Vec::new();
        // SAFETY: the event is a DeleteAcls result; responses and bindings belong to it.
        unsafe {
            let result = rd::rd_kafka_event_DeleteAcls_result(event.as_ptr());
            let mut count = 0usize;
            let responses = rd::rd_kafka_DeleteAcls_result_responses(result, &raw mut count);
            for i in 0..count {
                let response = *responses.add(i);
                if let Some((code, message)) =
                    error_of(rd::rd_kafka_DeleteAcls_result_response_error(response))
                {
                    return Err(AclError::Broker {
                        call: "DeleteAcls",
                        code,
                        message,
                    });
                }
                let mut matched = 0usize;
                let acls = rd::rd_kafka_DeleteAcls_result_response_matching_acls(
                    response,
                    &raw mut matched,
                );
                deleted.extend((0..matched).map(|j| read_binding(*acls.add(j))));
            }
        }
        Ok(deleted.into_iter().collect())
    }
}

#[cfg(test)]
#[path = "ffi_tests.rs"]
mod tests;
