//! stackctl's ACL vocabulary to librdkafka's enums and back.

use rdkafka::bindings as rd;

use crate::settings::{AclBinding, Operation, PatternType, ResourceType};

/// A binding the broker holds that stackctl's vocabulary cannot express: a resource type (User,
/// DelegationToken), an operation (CreateTokens, DescribeTokens), a pattern or a permission that
/// librdkafka reports as UNKNOWN, or that stackctl does not model. It is never declared, so it
/// always counts as undeclared. The raw enums are kept to delete it again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnmodelledAcl {
    pub principal: String,
    pub host: String,
    pub name: String,
    pub(super) restype: rd::rd_kafka_ResourceType_t,
    pub(super) pattern: rd::rd_kafka_ResourcePatternType_t,
    pub(super) operation: rd::rd_kafka_AclOperation_t,
    pub(super) permission: rd::rd_kafka_AclPermissionType_t,
}

impl std::fmt::Display for UnmodelledAcl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use rd::rd_kafka_AclPermissionType_t::{
            RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, RD_KAFKA_ACL_PERMISSION_TYPE_DENY,
        };
        let permission = match self.permission {
            RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW => "ALLOW",
            RD_KAFKA_ACL_PERMISSION_TYPE_DENY => "DENY",
            _ => "UNKNOWN-PERMISSION",
        };
        let operation = operation_back(self.operation).map_or(
            "an operation stackctl does not model (UNKNOWN)".to_string(),
            |o| format!("{o:?}"),
        );
        let resource = resource_type_back(self.restype).map_or(
            "a resource type stackctl does not model (UNKNOWN)".to_string(),
            |r| format!("{r:?}"),
        );
        let pattern = match pattern_type_back(self.pattern) {
            Some(PatternType::Literal) => "",
            Some(PatternType::Prefixed) => "*",
            None => " (pattern UNKNOWN)",
        };
        write!(
            f,
            "{} {permission} {operation} on {resource}:{}{pattern} from {}",
            self.principal, self.name, self.host
        )
    }
}

/// One binding the broker holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeldAcl {
    Modelled(AclBinding),
    Unmodelled(UnmodelledAcl),
}

/// Every binding the broker holds, split by whether stackctl can express it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldAcls {
    pub modelled: Vec<AclBinding>,
    pub unmodelled: Vec<UnmodelledAcl>,
}

impl FromIterator<HeldAcl> for HeldAcls {
    fn from_iter<I: IntoIterator<Item = HeldAcl>>(iter: I) -> HeldAcls {
        let mut out = HeldAcls::default();
        for held in iter {
            match held {
                HeldAcl::Modelled(b) => out.modelled.push(b),
                HeldAcl::Unmodelled(u) => out.unmodelled.push(u),
            }
        }
        out
    }
}

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
    use rd::rd_kafka_ResourceType_t::{
        RD_KAFKA_RESOURCE_BROKER, RD_KAFKA_RESOURCE_GROUP, RD_KAFKA_RESOURCE_TOPIC,
        RD_KAFKA_RESOURCE_TRANSACTIONAL_ID,
    };
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
    use rd::rd_kafka_ResourcePatternType_t::{
        RD_KAFKA_RESOURCE_PATTERN_LITERAL, RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
    };
    match p {
        RD_KAFKA_RESOURCE_PATTERN_LITERAL => Some(PatternType::Literal),
        RD_KAFKA_RESOURCE_PATTERN_PREFIXED => Some(PatternType::Prefixed),
        _ => None,
    }
}

pub(super) const OPERATIONS: [(Operation, rd::rd_kafka_AclOperation_t); 11] = {
    use rd::rd_kafka_AclOperation_t::{
        RD_KAFKA_ACL_OPERATION_ALL, RD_KAFKA_ACL_OPERATION_ALTER,
        RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS, RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION,
        RD_KAFKA_ACL_OPERATION_CREATE, RD_KAFKA_ACL_OPERATION_DELETE,
        RD_KAFKA_ACL_OPERATION_DESCRIBE, RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS,
        RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE, RD_KAFKA_ACL_OPERATION_READ,
        RD_KAFKA_ACL_OPERATION_WRITE,
    };
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
    use rd::rd_kafka_AclOperation_t::{
        RD_KAFKA_ACL_OPERATION_ALL, RD_KAFKA_ACL_OPERATION_ALTER,
        RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS, RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION,
        RD_KAFKA_ACL_OPERATION_CREATE, RD_KAFKA_ACL_OPERATION_DELETE,
        RD_KAFKA_ACL_OPERATION_DESCRIBE, RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS,
        RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE, RD_KAFKA_ACL_OPERATION_READ,
        RD_KAFKA_ACL_OPERATION_WRITE,
    };
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

/// Test fixture: what librdkafka reports for `User:mallory` allowed CreateTokens on the User
/// resource `User:app` (an operation and a resource type it reports as UNKNOWN).
#[cfg(test)]
pub(super) fn unmodelled_fixture() -> UnmodelledAcl {
    use rd::rd_kafka_AclOperation_t::RD_KAFKA_ACL_OPERATION_UNKNOWN;
    use rd::rd_kafka_AclPermissionType_t::RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW;
    use rd::rd_kafka_ResourcePatternType_t::RD_KAFKA_RESOURCE_PATTERN_LITERAL;
    use rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_UNKNOWN;
    UnmodelledAcl {
        principal: "User:mallory".into(),
        host: "*".into(),
        name: "User:app".into(),
        restype: RD_KAFKA_RESOURCE_UNKNOWN,
        pattern: RD_KAFKA_RESOURCE_PATTERN_LITERAL,
        operation: RD_KAFKA_ACL_OPERATION_UNKNOWN,
        permission: RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unmodelled_binding_is_named_without_guessing() {
        let u = unmodelled_fixture();
        assert_eq!(
            u.to_string(),
            "User:mallory ALLOW an operation stackctl does not model (UNKNOWN) on a resource type stackctl does not model (UNKNOWN):User:app from *"
        );
    }

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
