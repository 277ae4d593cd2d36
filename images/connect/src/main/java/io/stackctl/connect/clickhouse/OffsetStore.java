package io.stackctl.connect.clickhouse;

import java.io.IOException;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import org.apache.kafka.common.TopicPartition;

/**
 * The table as the sink's offset store (Kafka Connect's advice for exactly-once sinks): every row
 * carries its topic, partition and offset, every INSERT is one atomic part, and rows of a partition
 * are written in offset order. So the highest offset the table holds for a partition says that
 * every record up to it was handled (written, or sent to the dead-letter topic before it), and a
 * record at or below it is never written again.
 */
final class OffsetStore {
    /** Kafka topic names: letters, digits, '.', '_', '-' (safe inside a quoted SQL literal). */
    private static final Pattern TOPIC = Pattern.compile("[A-Za-z0-9._-]+");

    private final Inserter clickhouse;
    private final String table;

    OffsetStore(Inserter clickhouse, String table) {
        this.clickhouse = clickhouse;
        this.table = table;
    }

    /** Per partition of `topics`: the highest offset the table holds (absent: none). */
    Map<TopicPartition, Long> written(Collection<String> topics) throws Failure {
        StringBuilder in = new StringBuilder();
        for (String topic : new LinkedHashSet<>(topics)) {
            if (!TOPIC.matcher(topic).matches()) {
                throw new Failure(Answer.Kind.FATAL, "topic name " + topic + " is not a Kafka topic name");
            }
            in.append(in.length() == 0 ? "" : ",").append('\'').append(topic).append('\'');
        }
        Map<TopicPartition, Long> out = new HashMap<>();
        if (in.length() == 0) {
            return out;
        }
        String body = query("SELECT " + SinkConfig.TOPIC_COLUMN + ", " + SinkConfig.PARTITION_COLUMN + ", max("
            + SinkConfig.OFFSET_COLUMN + ") FROM " + table + " WHERE " + SinkConfig.TOPIC_COLUMN + " IN (" + in
            + ") GROUP BY " + SinkConfig.TOPIC_COLUMN + ", " + SinkConfig.PARTITION_COLUMN + " FORMAT TabSeparated");
        for (String line : body.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t");
            try {
                out.put(new TopicPartition(f[0], Integer.parseInt(f[1])), Long.parseLong(f[2]));
            } catch (RuntimeException e) {
                throw new Failure(Answer.Kind.UNKNOWN, "unexpected answer to the offset query: " + line.length() + " characters");
            }
        }
        return out;
    }

    /** Whether an INSERT with this query_id is still running on the server. */
    boolean running(String queryId) throws Failure {
        String body = query("SELECT count() FROM system.processes WHERE query_id = '" + queryId + "' FORMAT TabSeparated");
        return !body.strip().equals("0");
    }

    /** The table's column names, in order. */
    Set<String> columns() throws Failure {
        Set<String> out = new LinkedHashSet<>();
        for (String line : query("DESCRIBE TABLE " + table + " FORMAT TabSeparated").split("\n")) {
            if (!line.isBlank()) {
                out.add(line.split("\t", 2)[0]);
            }
        }
        return out;
    }

    private String query(String sql) throws Failure {
        Answer a;
        try {
            a = clickhouse.select(sql);
        } catch (IOException e) {
            throw new Failure(Answer.Kind.RETRIABLE, "ClickHouse unreachable: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure(Answer.Kind.FATAL, "interrupted while querying ClickHouse");
        }
        if (a.kind() != Answer.Kind.OK) {
            Answer.Kind kind = a.kind() == Answer.Kind.DATA ? Answer.Kind.UNKNOWN : a.kind();
            throw new Failure(kind, a.summary());
        }
        return a.body();
    }

    /** A request that did not succeed, with the class of its answer. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        final Answer.Kind kind;

        Failure(Answer.Kind kind, String message) {
            super(message);
            this.kind = kind;
        }
    }
}
