//! stackctl's ACL vocabulary to librdkafka's enums and back.

use rdkafka::bindings as rd;

use crate::settings::{Operation, PatternType, ResourceType};

pub(super) fn resource_type(r: ResourceType) -> rd::rd_kafka_ResourceType_t {
    match r {
        ResourceType::Topic => rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
        ResourceType::Group => rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_GROUP,
        // librdkafka calls the cluster resource BROKER.
        ResourceType::Cluster => rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_BROKER,
        ResourceType::TransactionalId => {
            rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TRANSACTIONAL_ID
        }
    }
}

pub(super) fn resource_type_back(r: rd::rd_kafka_ResourceType_t) -> Option<ResourceType> {
    use rd::rd_kafka_ResourceType_t::*;
    Some(match r {
        RD_KAFKA_RESOURCE_TOPIC => ResourceType::Topic,
        RD_KAFKA_RESOURCE_GROUP => ResourceType::Group,
        RD_KAFKA_RESOURCE_BROKER => ResourceType::Cluster,
        RD_KAFKA_RESOURCE_TRANSACTIONAL_ID => ResourceType::TransactionalId,
        _ => return None,
    })
}

pub(super) fn pattern_type(p: PatternType) -> rd::rd_kafka_ResourcePatternType_t {
    match p {
        PatternType::Literal => {
            rd::rd_kafka_ResourcePatternType_t::RD_KAFKA_RESOURCE_PATTERN_LITERAL
        }
        PatternType::Prefixed => {
            rd::rd_kafka_ResourcePatternType_t::RD_KAFKA_RESOURCE_PATTERN_PREFIXED
        }
    }
}

pub(super) fn pattern_type_back(p: rd::rd_kafka_ResourcePatternType_t) -> Option<PatternType> {
    use rd::rd_kafka_ResourcePatternType_t::*;
    match p {
        RD_KAFKA_RESOURCE_PATTERN_LITERAL => Some(PatternType::Literal),
        RD_KAFKA_RESOURCE_PATTERN_PREFIXED => Some(PatternType::Prefixed),
        _ => None,
    }
}

pub(super) const OPERATIONS: [(Operation, rd::rd_kafka_AclOperation_t); 11] = {
    use rd::rd_kafka_AclOperation_t::*;
    [
        (Operation::All, RD_KAFKA_ACL_OPERATION_ALL),
        (Operation::Read, RD_KAFKA_ACL_OPERATION_READ),
        (Operation::Write, RD_KAFKA_ACL_OPERATION_WRITE),
        (Operation::Create, RD_KAFKA_ACL_OPERATION_CREATE),
        (Operation::Delete, RD_KAFKA_ACL_OPERATION_DELETE),
        (Operation::Alter, RD_KAFKA_ACL_OPERATION_ALTER),
        (Operation::Describe, RD_KAFKA_ACL_OPERATION_DESCRIBE),
        (
            Operation::ClusterAction,
            RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION,
        ),
        (
            Operation::DescribeConfigs,
            RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS,
        ),
        (
            Operation::AlterConfigs,
            RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS,
        ),
        (
            Operation::IdempotentWrite,
            RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE,
        ),
    ]
};

pub(super) fn operation(o: Operation) -> rd::rd_kafka_AclOperation_t {
    use rd::rd_kafka_AclOperation_t::*;
    match o {
        Operation::All => RD_KAFKA_ACL_OPERATION_ALL,
        Operation::Read => RD_KAFKA_ACL_OPERATION_READ,
        Operation::Write => RD_KAFKA_ACL_OPERATION_WRITE,
        Operation::Create => RD_KAFKA_ACL_OPERATION_CREATE,
        Operation::Delete => RD_KAFKA_ACL_OPERATION_DELETE,
        Operation::Alter => RD_KAFKA_ACL_OPERATION_ALTER,
        Operation::Describe => RD_KAFKA_ACL_OPERATION_DESCRIBE,
        Operation::ClusterAction => RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION,
        Operation::DescribeConfigs => RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS,
        Operation::AlterConfigs => RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS,
        Operation::IdempotentWrite => RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE,
    }
}

pub(super) fn operation_back(o: rd::rd_kafka_AclOperation_t) -> Option<Operation> {
    OPERATIONS
        .iter()
        .find(|(_, c)| *c == o)
        .map(|(ours, _)| *ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_maps_both_ways() {
        for (ours, theirs) in OPERATIONS {
            assert_eq!(operation(ours), theirs);
            assert_eq!(operation_back(theirs), Some(ours));
        }
        for r in [
            ResourceType::Topic,
            ResourceType::Group,
            ResourceType::Cluster,
            ResourceType::TransactionalId,
        ] {
            assert_eq!(resource_type_back(resource_type(r)), Some(r));
        }
        for p in [PatternType::Literal, PatternType::Prefixed] {
            assert_eq!(pattern_type_back(pattern_type(p)), Some(p));
        }
    }
}
