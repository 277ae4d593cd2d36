package io.stackctl.connect.clickhouse;

import java.io.IOException;
import java.util.List;

/** Sends one INSERT body (JSONEachRow rows, each ending in a newline) and returns the answer. */
@FunctionalInterface
public interface Inserter {
    Answer insert(List<byte[]> rows) throws IOException, InterruptedException;
}
