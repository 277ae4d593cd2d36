package io.stackctl.connect.clickhouse;

import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What ClickHouse answered to a request, and what that means for the records in it.
 *
 * <p>ClickHouse 18.16 answers HTTP 500 both for a row it cannot parse and for a server fault, and
 * sends no X-ClickHouse-Exception-Code header; the body starts with {@code Code: N, e.displayText()
 * = DB::Exception: ...}. So the class comes from N, not from the status, through three explicit
 * lists (names from ClickHouse's ErrorCodes.cpp; the retriable list follows the one ClickHouse's own
 * Kafka connector keeps). A code on none of them is UNKNOWN: retried a bounded number of times.
 */
public record Answer(int status, String body) {
    /** What to do about the records of a request. */
    public enum Kind {
        /** Written (or, for a query, answered). */
        OK,
        /** A row is bad: find it and send it to the dead-letter topic. */
        DATA,
        /** The sink is misconfigured (table, login, privileges): no record can be written. */
        FATAL,
        /** ClickHouse is unreachable, starting, overloaded or failed: retry the same records later. */
        RETRIABLE,
        /** A code on no list: retried `retry.unknown.max` times, then the task fails with it. */
        UNKNOWN
    }

    /** Codes of a row ClickHouse cannot parse or convert. */
    static final Set<Integer> DATA_CODES = Set.of(
        6,   // CANNOT_PARSE_TEXT
        25,  // CANNOT_PARSE_ESCAPE_SEQUENCE
        26,  // CANNOT_PARSE_QUOTED_STRING
        27,  // CANNOT_PARSE_INPUT_ASSERTION_FAILED (e.g. "expected {")
        32,  // ATTEMPT_TO_READ_AFTER_EOF
        33,  // CANNOT_READ_ALL_DATA (a truncated object)
        38,  // CANNOT_PARSE_DATE
        41,  // CANNOT_PARSE_DATETIME
        53,  // TYPE_MISMATCH
        69,  // ARGUMENT_OUT_OF_BOUND
        70,  // CANNOT_CONVERT_TYPE
        72,  // CANNOT_PARSE_NUMBER
        117, // INCORRECT_DATA (e.g. an unknown field)
        130, // CANNOT_READ_ARRAY_FROM_TEXT
        131  // TOO_LARGE_STRING_SIZE
    );

    /** Codes that no retry and no other record can fix. */
    static final Set<Integer> FATAL_CODES = Set.of(
        16,  // NO_SUCH_COLUMN_IN_TABLE
        47,  // UNKNOWN_IDENTIFIER
        60,  // UNKNOWN_TABLE
        62,  // SYNTAX_ERROR
        81,  // UNKNOWN_DATABASE
        115, // UNKNOWN_SETTING
        164, // READONLY
        192, // UNKNOWN_USER
        193, // WRONG_PASSWORD
        194, // REQUIRED_PASSWORD
        291, // DATABASE_ACCESS_DENIED
        497, // ACCESS_DENIED (servers with grants)
        516  // AUTHENTICATION_FAILED (newer servers)
    );

    /** Server-side conditions that pass: the same request may succeed later. */
    static final Set<Integer> RETRIABLE_CODES = Set.of(
        3,   // UNEXPECTED_END_OF_FILE (connection cut mid-request)
        107, // FILE_DOESNT_EXIST
        159, // TIMEOUT_EXCEEDED
        202, // TOO_MANY_SIMULTANEOUS_QUERIES
        203, // NO_FREE_CONNECTION
        209, // SOCKET_TIMEOUT
        210, // NETWORK_ERROR
        236, // ABORTED
        241, // MEMORY_LIMIT_EXCEEDED
        242, // TABLE_IS_READ_ONLY
        252, // TOO_MANY_PARTS
        285, // TOO_FEW_LIVE_REPLICAS
        319, // UNKNOWN_STATUS_OF_INSERT
        394, // QUERY_WAS_CANCELLED
        425, // SYSTEM_ERROR
        999  // KEEPER_EXCEPTION
    );

    private static final Pattern CODE = Pattern.compile("^Code: (\\d+)");
    private static final Pattern ROW = Pattern.compile("\\(at row (\\d+)\\)");

    /** The `Code: N` of an error answer, or -1. */
    public int code() {
        Matcher m = CODE.matcher(body.stripLeading());
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** The 1-based row a parse error names (`(at row N)`), or -1. */
    public int row() {
        Matcher m = ROW.matcher(body);
        if (!m.find()) {
            return -1;
        }
        try {
            return Integer.parseInt(m.group(1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    public Kind kind() {
        if (status == 200) {
            return Kind.OK;
        }
        int code = code();
        if (DATA_CODES.contains(code)) {
            return Kind.DATA;
        }
        if (FATAL_CODES.contains(code) || status == 401 || status == 403) {
            return Kind.FATAL;
        }
        if (RETRIABLE_CODES.contains(code)) {
            return Kind.RETRIABLE;
        }
        if (code < 0 && (status == 502 || status == 503 || status == 504)) {
            return Kind.RETRIABLE; // a proxy or a starting server: no ClickHouse code at all
        }
        return Kind.UNKNOWN;
    }

    /** One line for a log or an exception message: status, code and ClickHouse's reason. */
    public String summary() {
        String text = body.strip();
        int nl = text.indexOf('\n');
        if (nl >= 0) {
            text = text.substring(0, nl);
        }
        String prefix = "e.displayText() = ";
        int at = text.indexOf(prefix);
        if (at >= 0) {
            text = text.substring(at + prefix.length());
        }
        if (text.length() > 300) {
            text = text.substring(0, 300) + "...";
        }
        int code = code();
        return "HTTP " + status + (code >= 0 ? ", ClickHouse code " + code : "") + ": " + text;
    }
}
