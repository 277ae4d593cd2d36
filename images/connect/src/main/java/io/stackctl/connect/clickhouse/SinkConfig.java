package io.stackctl.connect.clickhouse;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Pattern;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/** The connector's settings (the `errors.*` keys belong to the framework, not to this class). */
public final class SinkConfig extends AbstractConfig {
    public static final String URL = "clickhouse.url";
    public static final String TABLE = "clickhouse.table";
    public static final String USER = "clickhouse.user";
    public static final String PASSWORD = "clickhouse.password";
    public static final String BATCH_MAX_RECORDS = "batch.max.records";
    public static final String BATCH_LINGER_MS = "batch.linger.ms";
    public static final String REQUEST_TIMEOUT_MS = "request.timeout.ms";
    public static final String RETRY_BACKOFF_MS = "retry.backoff.ms";
    public static final String RETRY_BACKOFF_MAX_MS = "retry.backoff.max.ms";
    public static final String RETRY_UNKNOWN_MAX = "retry.unknown.max";
    public static final String PUT_BUDGET_MS = "put.budget.ms";
    public static final String PUT_MAX_REQUESTS = "put.max.requests";
    public static final String SCHEMA_DRIFT_ACTION = "schema.drift.action";

    /** Columns every row gains: where it came from. The table is the sink's offset store. */
    public static final String TOPIC_COLUMN = "_topic";
    public static final String PARTITION_COLUMN = "_partition";
    public static final String OFFSET_COLUMN = "_offset";
    public static final java.util.Set<String> SOURCE_COLUMNS = java.util.Set.of(TOPIC_COLUMN, PARTITION_COLUMN, OFFSET_COLUMN);
    /** Above batch.max.records' bound: one INSERT is one block, parsed whole before one part is written. */
    public static final int MAX_INSERT_BLOCK_SIZE = 1_048_576;

    /** `db.table` or `table`: plain identifiers only, since the name is spliced into SQL. */
    private static final Pattern TABLE_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");

    public static final ConfigDef DEF = new ConfigDef()
        .define(URL, Type.STRING, "http://clickhouse:8123/", Importance.HIGH,
            "ClickHouse HTTP interface (http://host:port/).")
        .define(TABLE, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, Importance.HIGH,
            "Target table, `database.table`; each record value is one JSONEachRow row of it.")
        .define(USER, Type.STRING, "", Importance.HIGH,
            "ClickHouse user (sent as X-ClickHouse-User); empty: no credentials. Use a ${file:...} reference.")
        .define(PASSWORD, Type.PASSWORD, "", Importance.HIGH,
            "ClickHouse password (sent as X-ClickHouse-Key). Use a ${file:...} reference.")
        .define(BATCH_MAX_RECORDS, Type.INT, 10000, Range.between(1, 500000), Importance.MEDIUM,
            "Rows per INSERT at most. Every INSERT carries max_insert_block_size=1048576, above this bound, "
                + "so it is one block and one part: a rejected INSERT wrote nothing.")
        .define(BATCH_LINGER_MS, Type.LONG, 500L, Range.between(0, 60000), Importance.MEDIUM,
            "How long a partial batch waits for more records before it is sent.")
        .define(REQUEST_TIMEOUT_MS, Type.LONG, 30000L, Range.between(1000, 600000), Importance.LOW,
            "Bound of one INSERT request.")
        .define(RETRY_BACKOFF_MS, Type.LONG, 500L, Range.between(10, 600000), Importance.LOW,
            "First wait after ClickHouse could not be reached or answered with a server fault; doubles per attempt.")
        .define(RETRY_BACKOFF_MAX_MS, Type.LONG, 10000L, Range.between(10, 3600000), Importance.LOW,
            "Longest wait between attempts. Retriable conditions (unreachable, listed server faults) are "
                + "retried without end; the task stays RUNNING and its retries metric counts them.")
        .define(RETRY_UNKNOWN_MAX, Type.INT, 5, Range.between(0, 1000), Importance.LOW,
            "Attempts after an answer whose ClickHouse code is on no list; then the task fails with it.")
        .define(PUT_BUDGET_MS, Type.LONG, 20000L, Range.between(100, 600000), Importance.LOW,
            "Time one put() may spend on requests; unfinished work resumes in the next call. Keep it "
                + "well under the worker's max.poll.interval.ms (300000 by default).")
        .define(PUT_MAX_REQUESTS, Type.INT, 2000, Range.between(1, 1000000), Importance.LOW,
            "Requests one put() may make; unfinished work resumes in the next call.")
        .define(SCHEMA_DRIFT_ACTION, Type.STRING, "fail", ConfigDef.ValidString.in("fail", "dead-letter"),
            Importance.MEDIUM,
            "When ClickHouse rejects rows and the table has lost columns since the task started: `fail` "
                + "the task with the reason (nothing is committed, nothing lost; restart it once the table "
                + "is fixed) or `dead-letter` the batch.");

    public SinkConfig(Map<String, String> props) {
        super(DEF, props, false); // no "values:" dump in the log
        String table = getString(TABLE);
        if (!TABLE_NAME.matcher(table).matches()) {
            throw new ConfigException(TABLE, table, "must be `database.table` made of letters, digits and _");
        }
        try {
            URI uri = URI.create(getString(URL));
            if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
                throw new ConfigException(URL, getString(URL), "must be an http:// or https:// URL");
            }
        } catch (IllegalArgumentException e) {
            throw new ConfigException(URL, getString(URL), "is not a URL: " + e.getMessage());
        }
    }

    /** The HTTP interface's root, ending in `/`. */
    public String baseUrl() {
        String base = getString(URL);
        return base.endsWith("/") ? base : base + "/";
    }

    /**
     * The INSERT endpoint: the statement as the `query` parameter, max_insert_block_size above any
     * batch (one block, one part), and a query_id to find the request in system.processes.
     */
    public URI insertUri(String queryId) {
        String sql = "INSERT INTO " + getString(TABLE) + " FORMAT JSONEachRow";
        return URI.create(baseUrl() + "?query=" + URLEncoder.encode(sql, StandardCharsets.UTF_8).replace("+", "%20")
            + "&max_insert_block_size=" + MAX_INSERT_BLOCK_SIZE
            + "&query_id=" + URLEncoder.encode(queryId, StandardCharsets.UTF_8));
    }

    public String table() {
        return getString(TABLE);
    }

    public int retryUnknownMax() {
        return getInt(RETRY_UNKNOWN_MAX);
    }

    public long putBudgetMs() {
        return getLong(PUT_BUDGET_MS);
    }

    public int putMaxRequests() {
        return getInt(PUT_MAX_REQUESTS);
    }

    public boolean failOnDrift() {
        return "fail".equals(getString(SCHEMA_DRIFT_ACTION));
    }

    public String user() {
        return getString(USER);
    }

    public Password password() {
        return getPassword(PASSWORD);
    }

    public int batchMaxRecords() {
        return getInt(BATCH_MAX_RECORDS);
    }

    public long lingerMs() {
        return getLong(BATCH_LINGER_MS);
    }

    public Duration requestTimeout() {
        return Duration.ofMillis(getLong(REQUEST_TIMEOUT_MS));
    }

    public long backoffMs() {
        return getLong(RETRY_BACKOFF_MS);
    }

    public long backoffMaxMs() {
        return Math.max(getLong(RETRY_BACKOFF_MAX_MS), backoffMs());
    }
}
