package io.stackctl.connect.clickhouse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.sink.SinkRecord;

/**
 * Delivers one batch in bounded steps, without recursion: records that cannot be framed go to the
 * dead-letter topic first; the rest go as one INSERT. When ClickHouse rejects it (which wrote
 * nothing: one block, one part), the rows before the one it names are known good, that one is
 * reported, and the remainder is probed: sent with a last row ClickHouse cannot parse, so the
 * probe never writes and the row it names is the next bad one (or the sentinel: all good). The
 * known-good rows then go as one INSERT. ClickHouse parses each row about once; a batch makes one
 * part. {@link #run} stops when the budget is spent and resumes where it stopped.
 */
final class BatchWriter {
    /** Where a record the batch cannot write goes (the task's dead-letter reporting). */
    interface Reports {
        void report(SinkRecord record, String reason);
    }

    /** Requests and time one put() may still spend. */
    static final class Budget {
        private final long deadline;
        private final java.util.function.LongSupplier clock;
        private int requests;

        Budget(java.util.function.LongSupplier clock, long millis, int requests) {
            this.clock = clock;
            this.deadline = clock.getAsLong() + millis;
            this.requests = requests;
        }

        boolean spent() {
            return requests <= 0 || clock.getAsLong() >= deadline;
        }

        void take() {
            requests--;
        }
    }

    private enum Stage { FRAMING, INSERT, PROBE, FINAL, DONE }

    /** The last row of a probe: ClickHouse cannot parse it, so a probe never writes. */
    static final byte[] SENTINEL = "x\n".getBytes(StandardCharsets.UTF_8);
    /** A probe uploads at most this many rows: its cost stays near the distance to the next bad row. */
    static final int MAX_WINDOW = 8192;
    static final int MIN_WINDOW = 8;

    final List<SinkRecord> records;
    private final List<Rows.Row> rows;
    private final Inserter clickhouse;
    private final Reports reports;
    private final Drift drift;
    private List<Integer> candidates = new ArrayList<>();
    private List<Integer> verified = new ArrayList<>();
    private int probeFrom;
    private int frameAt;
    /** Rows per probe: grows while probes come back clean, shrinks around bad rows. */
    private int window = 64;
    private boolean singleRow;
    private boolean driftChecked;
    private Stage stage = Stage.FRAMING;

    int written;
    int notFramed;
    int rejected;
    int requests;
    long startedAt = -1;
    /** An INSERT whose outcome is unknown (no answer): reconcile against the table before going on. */
    String uncertainQueryId;
    private final Map<Integer, Integer> codes = new TreeMap<>();

    BatchWriter(List<SinkRecord> records, Inserter clickhouse, Reports reports, Drift drift) {
        this.records = records;
        this.rows = new ArrayList<>(records.size());
        for (SinkRecord r : records) {
            rows.add(Rows.of(r.value(), r.originalTopic(), r.originalKafkaPartition(), r.originalKafkaOffset()));
        }
        this.clickhouse = clickhouse;
        this.reports = reports;
        this.drift = drift;
    }

    boolean done() {
        return stage == Stage.DONE;
    }

    /** Works until the batch is done (true) or the budget is spent (false). */
    boolean run(Budget budget) throws OffsetStore.Failure {
        while (stage != Stage.DONE && !budget.spent()) {
            switch (stage) {
                case FRAMING -> frame();
                case INSERT -> insertAll(budget);
                case PROBE -> probe(budget);
                case FINAL -> insertVerified(budget);
                default -> throw new IllegalStateException(stage.name());
            }
        }
        return stage == Stage.DONE;
    }

    /**
     * Records that are no single JSON object, set a column the sink fills, or name a column the
     * table does not have go to the dead-letter topic without a request (ClickHouse would reject
     * them: input_format_skip_unknown_fields is off). Resumable: a failed column lookup repeats
     * nothing.
     */
    private void frame() throws OffsetStore.Failure {
        boolean refreshed = false;
        for (; frameAt < rows.size(); frameAt++) {
            Rows.Row row = rows.get(frameAt);
            String problem = row.problem();
            if (problem == null && row.keys() != null) {
                problem = keyProblem(row.keys(), refreshed);
                if (problem == REFRESH) {
                    drift.knownColumns(true);
                    refreshed = true;
                    problem = keyProblem(row.keys(), true);
                }
            }
            if (problem == null) {
                candidates.add(frameAt);
            } else {
                notFramed++;
                reports.report(records.get(frameAt), problem);
            }
        }
        stage = Stage.INSERT;
    }

    private static final String REFRESH = "refresh";

    private String keyProblem(List<String> keys, boolean refreshed) throws OffsetStore.Failure {
        Set<String> known = drift.knownColumns(false);
        for (String key : keys) {
            if (SinkConfig.SOURCE_COLUMNS.contains(key)) {
                return "the record sets `" + key + "`, a column the sink fills itself (the record's topic, "
                    + "partition and offset)";
            }
            if (!known.contains(key)) {
                if (!refreshed) {
                    return REFRESH;
                }
                return "the record has a field `" + key + "` and table " + drift.table()
                    + " has no such column (ClickHouse rejects unknown fields: code 117)";
            }
        }
        return null;
    }

    private void insertAll(Budget budget) throws OffsetStore.Failure {
        if (candidates.isEmpty()) {
            stage = Stage.DONE;
            return;
        }
        Answer a = send(candidates, 0, candidates.size(), false, budget);
        if (a.kind() == Answer.Kind.OK) {
            written += candidates.size();
            stage = Stage.DONE;
            return;
        }
        requireData(a);
        int r = a.row();
        probeFrom = 0;
        stage = Stage.PROBE;
        if (r >= 1 && r <= candidates.size()) {
            verified.addAll(candidates.subList(0, r - 1));
            probeFrom = r - 1;
            if (reject(candidates.get(r - 1), a)) {
                probeFrom = r;
            }
        } else {
            singleRow = true; // ClickHouse names no row: judge one at a time
        }
    }

    private void probe(Budget budget) throws OffsetStore.Failure {
        while (probeFrom < candidates.size() && !budget.spent()) {
            int to = singleRow ? probeFrom + 1 : Math.min(candidates.size(), probeFrom + window);
            int n = to - probeFrom;
            Answer a = send(candidates, probeFrom, to, true, budget);
            if (a.kind() == Answer.Kind.OK) {
                throw new OffsetStore.Failure(Answer.Kind.FATAL, "ClickHouse accepted a probe's sentinel row; "
                    + "the sink cannot judge rows on this server");
            }
            requireData(a);
            int r = a.row();
            if (r < 0 && singleRow && isSentinel(a)) {
                r = n + 1;
            }
            if (r == n + 1) {
                verified.addAll(candidates.subList(probeFrom, to));
                probeFrom = to;
                window = Math.min(window * 2, MAX_WINDOW);
            } else if (r >= 1 && r <= n) {
                window = Math.max(MIN_WINDOW, 2 * r);
                verified.addAll(candidates.subList(probeFrom, probeFrom + r - 1));
                probeFrom += r - 1;
                if (reject(candidates.get(probeFrom), a)) {
                    probeFrom++;
                }
            } else if (singleRow) {
                if (reject(candidates.get(probeFrom), a)) {
                    probeFrom++;
                }
            } else {
                singleRow = true;
            }
        }
        if (probeFrom >= candidates.size()) {
            stage = Stage.FINAL;
        }
    }

    private void insertVerified(Budget budget) throws OffsetStore.Failure {
        if (verified.isEmpty()) {
            stage = Stage.DONE;
            return;
        }
        Answer a = send(verified, 0, verified.size(), false, budget);
        if (a.kind() == Answer.Kind.OK) {
            written += verified.size();
            stage = Stage.DONE;
            return;
        }
        requireData(a);
        // The table changed since the probe: judge these rows again (each round reports one).
        candidates = verified;
        verified = new ArrayList<>();
        stage = Stage.INSERT;
    }

    /**
     * A rejected row (candidates[probeFrom]). The first time in this batch, ask whether the table
     * lost columns. True: the row was reported alone; false: schema drift took the rest of the batch.
     */
    private boolean reject(int index, Answer a) throws OffsetStore.Failure {
        if (!driftChecked) {
            driftChecked = true;
            Set<String> lost = drift.lostColumns();
            if (!lost.isEmpty()) {
                driftDetected(lost, a);
                return false;
            }
        }
        rejected++;
        codes.merge(a.code(), 1, Integer::sum);
        reports.report(records.get(index), "ClickHouse rejected the row: " + a.summary());
        return true;
    }

    private void driftDetected(Set<String> lost, Answer a) {
        String what = "table " + drift.table() + " lost column(s) " + lost + " since the task started, and ClickHouse "
            + "rejects rows (ClickHouse code " + a.code() + ")";
        if (drift.failOnDrift()) {
            throw new ConnectException("schema drift: " + what + ". schema.drift.action=fail: nothing of this batch is "
                + "committed; restore the column(s) and restart the task (stackctl up restarts it)");
        }
        // dead-letter: every row not yet known good goes to the dead-letter topic with the reason.
        for (int i = probeFrom; i < candidates.size(); i++) {
            rejected++;
            reports.report(records.get(candidates.get(i)), "schema drift (schema.drift.action=dead-letter): " + what);
        }
        int n = candidates.size() - probeFrom;
        codes.merge(a.code(), n, Integer::sum);
        candidates = new ArrayList<>(candidates.subList(0, probeFrom));
        drift.deadLettered(n, what);
        stage = Stage.FINAL;
    }

    /**
     * Without a row number: every candidate starts with '{' (framing), so "expected {" can only be
     * about the sentinel.
     */
    private static boolean isSentinel(Answer a) {
        return a.code() == 27 && a.body().contains("expected {");
    }

    private void requireData(Answer a) throws OffsetStore.Failure {
        if (a.kind() != Answer.Kind.DATA) {
            throw new OffsetStore.Failure(a.kind(), a.summary());
        }
    }

    private Answer send(List<Integer> indices, int from, int to, boolean probe, Budget budget) throws OffsetStore.Failure {
        if (startedAt < 0) {
            startedAt = System.nanoTime();
        }
        List<byte[]> body = new ArrayList<>(to - from + 1);
        for (int i = from; i < to; i++) {
            body.add(rows.get(indices.get(i)).bytes());
        }
        if (probe) {
            body.add(SENTINEL);
        }
        budget.take();
        requests++;
        String queryId = "stackctl-sink-" + UUID.randomUUID();
        try {
            return clickhouse.insert(body, queryId);
        } catch (IOException e) {
            if (!probe) {
                uncertainQueryId = queryId;
            }
            throw new OffsetStore.Failure(Answer.Kind.RETRIABLE, "ClickHouse unreachable: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConnectException("interrupted while writing to ClickHouse", e);
        }
    }

    /** After an INSERT without answer: drop what the table holds (that INSERT landed whole or not at all). */
    void dropWritten(Map<TopicPartition, Long> floors) {
        candidates = keepAbove(candidates, floors, stage == Stage.INSERT);
        verified = keepAbove(verified, floors, stage == Stage.FINAL);
        uncertainQueryId = null;
    }

    private List<Integer> keepAbove(List<Integer> indices, Map<TopicPartition, Long> floors, boolean countWritten) {
        List<Integer> out = new ArrayList<>(indices.size());
        for (int i : indices) {
            SinkRecord r = records.get(i);
            Long floor = floors.get(new TopicPartition(r.originalTopic(), r.originalKafkaPartition()));
            if (floor == null || r.originalKafkaOffset() > floor) {
                out.add(i);
            } else if (countWritten) {
                written++;
            }
        }
        return out;
    }

    /** One line for the log: counts and ClickHouse codes, never row content. */
    String summary() {
        return "batch of " + records.size() + " records: " + written + " written, " + (notFramed + rejected)
            + " dead-lettered (" + notFramed + " not one JSON object, " + rejected + " rejected by ClickHouse"
            + (codes.isEmpty() ? "" : ", codes " + codes) + "), " + requests + " requests";
    }

    /** What the batch needs to know about the table's columns. */
    interface Drift {
        Set<String> lostColumns() throws OffsetStore.Failure;

        /** Columns rows may name: those at start plus any added since (`refresh`: ask the table). */
        Set<String> knownColumns(boolean refresh) throws OffsetStore.Failure;

        String table();

        boolean failOnDrift();

        void deadLettered(int n, String what);
    }
}
