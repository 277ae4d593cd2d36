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

#[test]
fn an_unmodelled_binding_is_read_whole_and_deleted_through_a_filter_of_what_is_known() {
    use rd::rd_kafka_AclOperation_t::*;
    use rd::rd_kafka_AclPermissionType_t::*;
    use rd::rd_kafka_ResourcePatternType_t::*;
    use rd::rd_kafka_ResourceType_t::*;
    let u = super::super::convert::unmodelled_fixture();
    let filter = new_filter("test", &u, false).expect("filter");
    // SAFETY: filter is a live binding filter.
    let back = unsafe { read_binding(filter.as_ptr()) };
    let HeldAcl::Unmodelled(read) = back else {
        panic!("a filter with ANY is not a modelled binding: {back:?}");
    };
    assert_eq!(
        read.restype, RD_KAFKA_RESOURCE_ANY,
        "UNKNOWN cannot be filtered on"
    );
    assert_eq!(read.operation, RD_KAFKA_ACL_OPERATION_ANY);
    assert_eq!(read.pattern, RD_KAFKA_RESOURCE_PATTERN_LITERAL);
    assert_eq!(read.permission, RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW);
    assert_eq!(
        (read.principal.as_str(), read.name.as_str()),
        ("User:mallory", "User:app")
    );
    assert!(match_all().is_ok());
}
