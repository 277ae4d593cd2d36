//! The librdkafka binding wrapper without a broker.

use super::*;
use crate::settings::{Operation, PatternType, ResourceType};

#[test]
fn a_binding_round_trips_through_librdkafka() {
    let b = AclBinding {
        principal: "User:app".into(),
        resource: ResourceType::Group,
        name: "app-".into(),
        pattern: PatternType::Prefixed,
        operation: Operation::Read,
        host: "*".into(),
        allow: true,
    };
    let owned = new_binding("test", &b).expect("binding");
    // SAFETY: owned is a live binding.
    assert_eq!(
        unsafe { read_binding(owned.as_ptr()) },
        HeldAcl::Modelled(b)
    );
    let bad = AclBinding {
        name: "nul\0".into(),
        ..b_clone()
    };
    assert!(new_binding("test", &bad).is_err());
}

fn b_clone() -> AclBinding {
    AclBinding {
        principal: "User:app".into(),
        resource: ResourceType::Topic,
        name: "events".into(),
        pattern: PatternType::Literal,
        operation: Operation::Write,
        host: "*".into(),
        allow: true,
    }
}
