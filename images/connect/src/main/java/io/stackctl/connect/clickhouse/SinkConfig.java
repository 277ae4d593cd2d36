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
            "Rows per INSERT at most. Kept well below ClickHouse's max_insert_block_size (1,048,576), "
                + "so a rejected INSERT wrote nothing and can be split safely.")
        .define(BATCH_LINGER_MS, Type.LONG, 500L, Range.between(0, 60000), Importance.MEDIUM,
            "How long a partial batch waits for more records before it is sent.")
        .define(REQUEST_TIMEOUT_MS, Type.LONG, 30000L, Range.between(1000, 600000), Importance.LOW,
            "Bound of one INSERT request.")
        .define(RETRY_BACKOFF_MS, Type.LONG, 500L, Range.between(10, 600000), Importance.LOW,
            "First wait after ClickHouse could not be reached or answered with a server fault; doubles per attempt.")
        .define(RETRY_BACKOFF_MAX_MS, Type.LONG, 10000L, Range.between(10, 3600000), Importance.LOW,
            "Longest wait between attempts. Attempts never stop: the task stays RUNNING and resumes "
                + "when ClickHouse is back.");

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

    /** The INSERT endpoint: base URL with the statement as the `query` parameter. */
    public URI insertUri() {
        String base = getString(URL);
        if (!base.endsWith("/")) {
            base = base + "/";
        }
        String sql = "INSERT INTO " + getString(TABLE) + " FORMAT JSONEachRow";
        return URI.create(base + "?query=" + URLEncoder.encode(sql, StandardCharsets.UTF_8).replace("+", "%20"));
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
