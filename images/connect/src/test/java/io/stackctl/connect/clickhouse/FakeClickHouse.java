package io.stackctl.connect.clickhouse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A ClickHouse for tests: holds rows, parses the whole body before writing (one part per INSERT),
 * rejects rows with a field the table lacks ("bad", or a dropped column) or that are not objects.
 */
final class FakeClickHouse implements Inserter {
    private static final Pattern FIELD = Pattern.compile("\"([A-Za-z_]+)\":");
    private static final Pattern SOURCE = Pattern.compile("\"_partition\":(\\d+),\"_offset\":(\\d+)");

    final List<String> table = new ArrayList<>();
    final Set<String> columns = new LinkedHashSet<>(List.of("run_id", "seq", "payload", "_topic", "_partition", "_offset"));
    int inserts;
    int parts;
    int selects;
    int downFor;
    /** Write the rows, then fail as if the answer were lost. */
    boolean loseNextAnswer;
    boolean rowHints = true;
    Answer fixed;

    @Override
    public Answer insert(List<byte[]> rows, String queryId) throws IOException {
        inserts++;
        if (downFor > 0) {
            downFor--;
            throw new IOException("Connection refused");
        }
        if (fixed != null) {
            return fixed;
        }
        for (int i = 0; i < rows.size(); i++) {
            String row = new String(rows.get(i), StandardCharsets.UTF_8);
            String at = rowHints ? ": (at row " + (i + 1) + ")" : "";
            if (!row.endsWith("\n")) {
                return new Answer(500, "Code: 33, e.displayText() = DB::Exception: no newline");
            }
            if (!row.startsWith("{")) {
                return new Answer(500, "Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected {" + at + "\n");
            }
            if (row.contains("\"seq\":\"")) {
                return new Answer(500, "Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected \" before: x: "
                    + "(while read the value of key seq)" + at + "\n, e.what() = DB::Exception");
            }
            Matcher m = FIELD.matcher(row);
            while (m.find()) {
                if (!columns.contains(m.group(1))) {
                    return new Answer(500, "Code: 117, e.displayText() = DB::Exception: Unknown field found while parsing JSONEachRow format: "
                        + m.group(1) + at + "\n, e.what() = DB::Exception");
                }
            }
        }
        rows.forEach(r -> table.add(new String(r, StandardCharsets.UTF_8).strip()));
        parts++;
        if (loseNextAnswer) {
            loseNextAnswer = false;
            throw new IOException("connection reset after the INSERT");
        }
        return new Answer(200, "");
    }

    @Override
    public Answer select(String sql) throws IOException {
        selects++;
        if (downFor > 0) {
            downFor--;
            throw new IOException("Connection refused");
        }
        if (sql.startsWith("DESCRIBE")) {
            return new Answer(200, String.join("\tString\n", columns) + "\tString\n");
        }
        if (sql.contains("system.processes")) {
            return new Answer(200, "0\n");
        }
        Map<Integer, Long> max = new TreeMap<>();
        for (String row : table) {
            Matcher m = SOURCE.matcher(row);
            if (m.find()) {
                max.merge(Integer.parseInt(m.group(1)), Long.parseLong(m.group(2)), Math::max);
            }
        }
        StringBuilder b = new StringBuilder();
        max.forEach((p, o) -> b.append("events\t").append(p).append('\t').append(o).append('\n'));
        return new Answer(200, b.toString());
    }

    /** The (run_id, seq) of each row, as "r/seq". */
    List<String> seqs() {
        List<String> out = new ArrayList<>();
        Pattern seq = Pattern.compile("\"seq\":(\\d+)");
        for (String row : table) {
            Matcher m = seq.matcher(row);
            out.add(m.find() ? m.group(1) : "?");
        }
        return out;
    }
}
