package io.stackctl.connect.clickhouse;

import java.io.IOException;
import java.util.List;

/** The two requests the sink makes of ClickHouse. */
public interface Inserter {
    /**
     * Sends one INSERT body (JSONEachRow rows, each ending in a newline) as one request tagged
     * `queryId`, and returns the answer. The request carries max_insert_block_size above any batch,
     * so ClickHouse parses the whole body into one block before it writes one part: an INSERT that
     * is rejected wrote nothing.
     */
    Answer insert(List<byte[]> rows, String queryId) throws IOException, InterruptedException;

    /** Runs one read-only query (TabSeparated answer). */
    Answer select(String sql) throws IOException, InterruptedException;
}
