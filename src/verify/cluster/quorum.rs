//! The KRaft quorum as `kafka-metadata-quorum describe --replication` reports it, run inside a
//! node's container (librdkafka has no DescribeMetadataQuorum): each voter, its lag, its status.

use crate::engine::StackView;

/// How far behind the leader a follower may have last caught up and still count as caught up.
pub const CAUGHT_UP_WITHIN_MS: i64 = 10_000;

/// One row of the replication table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub node_id: u32,
    pub lag: i64,
    pub last_caught_up_ms: i64,
    /// `Leader`, `Follower` or `Observer`.
    pub status: String,
}

/// Parses the table (header `NodeId … Lag … LastCaughtUpTimestamp Status`), ignoring any lines
/// before it.
pub fn parse_replication(text: &str) -> Result<Vec<Member>, String> {
    let mut lines = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("NodeId"));
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| format!("no replication table in the tool's output: {}", tail(text)))?
        .split_whitespace()
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| format!("the replication table has no {name} column"))
    };
    let (id, lag, caught, status) = (
        col("NodeId")?,
        col("Lag")?,
        col("LastCaughtUpTimestamp")?,
        col("Status")?,
    );
    let mut members = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.len() != header.len() {
            continue;
        }
        let number = |i: usize| {
            cells[i]
                .parse::<i64>()
                .map_err(|_| format!("`{}` in `{line}` is not a number", cells[i]))
        };
        members.push(Member {
            node_id: u32::try_from(number(id)?).map_err(|_| format!("bad node id in `{line}`"))?,
            lag: number(lag)?,
            last_caught_up_ms: number(caught)?,
            status: cells[status].to_string(),
        });
    }
    Ok(members)
}

/// Healthy: exactly the expected voters, one leader, every follower caught up. `Err` says why not.
pub fn judge(members: &[Member], expected: &[u32]) -> Result<String, String> {
    let voters: Vec<u32> = members
        .iter()
        .filter(|m| m.status != "Observer")
        .map(|m| m.node_id)
        .collect();
    let mut sorted = voters.clone();
    sorted.sort_unstable();
    if sorted != expected {
        return Err(format!("voters {sorted:?}, expected {expected:?}"));
    }
    let leaders: Vec<&Member> = members.iter().filter(|m| m.status == "Leader").collect();
    let [leader] = leaders.as_slice() else {
        return Err(format!("{} leader(s) reported", leaders.len()));
    };
    let behind: Vec<String> = members
        .iter()
        .filter(|m| m.status == "Follower")
        .filter(|m| {
            m.lag > 0 && leader.last_caught_up_ms - m.last_caught_up_ms > CAUGHT_UP_WITHIN_MS
        })
        .map(|m| format!("node {} (lag {})", m.node_id, m.lag))
        .collect();
    if !behind.is_empty() {
        return Err(format!(
            "follower(s) not caught up within {CAUGHT_UP_WITHIN_MS} ms: {}",
            behind.join(", ")
        ));
    }
    Ok(format!(
        "{} voters, leader node {}, every follower caught up (max lag {})",
        voters.len(),
        leader.node_id,
        members.iter().map(|m| m.lag).max().unwrap_or(0)
    ))
}

/// Runs the tool in container `id` as the admin login the node's health check uses.
pub async fn describe(engine: &dyn StackView, id: &str) -> Result<Vec<Member>, String> {
    let cmd = [
        "/opt/kafka/bin/stackctl-kafka",
        "run-class",
        "org.apache.kafka.tools.MetadataQuorumCommand",
        "--bootstrap-server",
        "localhost:9092",
        "--command-config",
        "/etc/kafka/healthcheck.properties",
        "describe",
        "--replication",
    ];
    let (code, output) = engine.ask_tool(id, &cmd).await.map_err(|e| e.to_string())?;
    if code != 0 {
        return Err(format!(
            "kafka-metadata-quorum exited {code}: {}",
            tail(&output)
        ));
    }
    parse_replication(&output)
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    // As Kafka 4.3.1 printed it for a 3-node stack.
    const HEALTHY: &str = "NodeId\tDirectoryId           \tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t
1     \tAAAAAAAAAAAAAAAAAAAAAA\t652         \t0  \t1796194259639     \t1796194259639        \tLeader  \t
2     \tAAAAAAAAAAAAAAAAAAAAAA\t652         \t0  \t1796194259639     \t1796194259639        \tFollower\t
3     \tAAAAAAAAAAAAAAAAAAAAAA\t652         \t0  \t1796194259381     \t1796194259381        \tFollower\t
";

    #[test]
    fn a_healthy_quorum_passes() {
        let members = parse_replication(HEALTHY).expect("parse");
        assert_eq!(members.len(), 3);
        assert_eq!(
            judge(&members, &[1, 2, 3]).expect("healthy"),
            "3 voters, leader node 1, every follower caught up (max lag 0)"
        );
    }

    #[test]
    fn a_missing_voter_a_lagging_follower_and_no_leader_fail() {
        let members = parse_replication(HEALTHY).expect("parse");
        assert!(
            judge(&members[..2], &[1, 2, 3])
                .unwrap_err()
                .contains("voters [1, 2]")
        );
        let mut lagging = members.clone();
        lagging[2].lag = 500;
        lagging[2].last_caught_up_ms -= 60_000;
        assert!(
            judge(&lagging, &[1, 2, 3])
                .unwrap_err()
                .contains("node 3 (lag 500)")
        );
        let mut leaderless = members;
        leaderless[0].status = "Follower".into();
        assert!(
            judge(&leaderless, &[1, 2, 3])
                .unwrap_err()
                .contains("0 leader(s)")
        );
    }

    #[test]
    fn output_without_a_table_is_an_error() {
        assert!(parse_replication("Error: timed out").is_err());
    }
}
