package io.stackctl.connect.clickhouse;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Turns a record value into one JSONEachRow row, or says why it cannot be one. */
final class Rows {
    private Rows() {
    }

    /**
     * A record value as row bytes (with the trailing newline), or the reason it is no row; `keys`:
     * the object's top-level keys (null when one is written with escapes: ClickHouse judges it).
     */
    record Row(byte[] bytes, String problem, List<String> keys) {
        Row(byte[] bytes, String problem) {
            this(bytes, problem, null);
        }

        boolean ok() {
            return problem == null;
        }
    }

    /** A record as a row that also names where it came from (the sink's offset columns). */
    static Row of(Object value, String topic, int partition, long offset) {
        Row row = of(value);
        if (!row.ok()) {
            return row;
        }
        // The framed text starts with '{' (Rows.of strips it); the source fields go first.
        String text = new String(row.bytes(), StandardCharsets.UTF_8);
        String rest = text.substring(1).stripLeading();
        String source = "{\"" + SinkConfig.TOPIC_COLUMN + "\":\"" + jsonEscape(topic) + "\",\""
            + SinkConfig.PARTITION_COLUMN + "\":" + partition + ",\"" + SinkConfig.OFFSET_COLUMN + "\":" + offset;
        String joined = rest.startsWith("}") ? source + rest : source + "," + rest;
        return new Row(joined.getBytes(StandardCharsets.UTF_8), null, topLevelKeys(text));
    }

    private static String jsonEscape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }

    static Row of(Object value) {
        String text;
        if (value == null) {
            return new Row(null, "the record has no value (a tombstone); the sink writes one row per JSON object");
        } else if (value instanceof String s) {
            text = s;
        } else if (value instanceof byte[] b) {
            text = new String(b, StandardCharsets.UTF_8);
        } else {
            return new Row(null, "the record value is a " + value.getClass().getSimpleName()
                + "; the sink takes JSON text (value.converter=org.apache.kafka.connect.storage.StringConverter)");
        }
        String problem = oneObjectProblem(text);
        if (problem != null) {
            return new Row(null, problem);
        }
        byte[] utf8 = (text.strip() + "\n").getBytes(StandardCharsets.UTF_8);
        return new Row(utf8, null);
    }

    /**
     * The top-level keys of `text`, which frames as one JSON object; null when a key holds an
     * escape (it would have to be decoded to compare).
     */
    static List<String> topLevelKeys(String text) {
        List<String> keys = new ArrayList<>();
        int depth = 0;
        boolean expectKey = false;
        int n = text.length();
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c == '"') {
                int j = i + 1;
                boolean escaped = false;
                while (j < n && text.charAt(j) != '"') {
                    if (text.charAt(j) == '\\') {
                        escaped = true;
                        j++;
                    }
                    j++;
                }
                if (depth == 1 && expectKey) {
                    if (escaped) {
                        return null;
                    }
                    keys.add(text.substring(i + 1, Math.min(j, n)));
                    expectKey = false;
                }
                i = j;
            } else if (c == '{' || c == '[') {
                depth++;
                expectKey = depth == 1;
            } else if (c == '}' || c == ']') {
                depth--;
            } else if (c == ',' && depth == 1) {
                expectKey = true;
            }
        }
        return keys;
    }

    /**
     * Null when `text` is exactly one JSON object (surrounding whitespace aside), so that one record
     * is one row; otherwise why not. Only the framing is checked here: ClickHouse judges the content.
     */
    static String oneObjectProblem(String text) {
        int i = 0;
        int n = text.length();
        while (i < n && Character.isWhitespace(text.charAt(i))) {
            i++;
        }
        if (i == n) {
            return "the record value is empty; the sink writes one row per JSON object";
        }
        if (text.charAt(i) != '{') {
            return "the record value is not a JSON object (it does not start with '{')";
        }
        int depth = 0;
        boolean inString = false;
        for (; i < n; i++) {
            char c = text.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
                if (depth == 0) {
                    i++;
                    break;
                }
            }
        }
        if (depth != 0 || inString) {
            return "the record value is not a complete JSON object (unbalanced braces or quotes)";
        }
        for (; i < n; i++) {
            if (!Character.isWhitespace(text.charAt(i))) {
                return "the record value holds more than one JSON value; the sink writes one row per record";
            }
        }
        return null;
    }
}
