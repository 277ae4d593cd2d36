package io.stackctl.connect.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTaskContext;
import org.junit.jupiter.api.Test;

class ClickHouseSinkTaskTest {
    static final TopicPartition TP = new TopicPartition("events", 0);

    /** A ClickHouse that holds rows, rejects rows with a "bad" key, and can be down. */
    static final class FakeClickHouse implements Inserter {
        final List<String> table = new ArrayList<>();
        int requests;
        int downFor;
        boolean rowHints = true;
        Answer fixed;

        @Override
        public Answer insert(List<byte[]> rows) throws IOException {
            requests++;
            if (downFor > 0) {
                downFor--;
                throw new IOException("Connection refused");
            }
            if (fixed != null) {
                return fixed;
            }
            for (int i = 0; i < rows.size(); i++) {
                String row = new String(rows.get(i), StandardCharsets.UTF_8);
                if (!row.endsWith("\n")) {
                    return new Answer(500, "Code: 33, e.displayText() = DB::Exception: no newline");
                }
                if (row.contains("\"bad\"")) {
                    String at = rowHints ? ": (at row " + (i + 1) + ")" : "";
                    return new Answer(500, "Code: 117, e.displayText() = DB::Exception: Unknown field found while parsing JSONEachRow format: bad" + at + "\n, e.what() = DB::Exception");
                }
            }
            rows.forEach(r -> table.add(new String(r, StandardCharsets.UTF_8).strip()));
            return new Answer(200, "");
        }
    }

    static final class Context implements SinkTaskContext {
        final List<SinkRecord> dlq = new ArrayList<>();
        final List<String> reasons = new ArrayList<>();
        long timeout = -1;
        boolean reporting = true;

        @Override public Map<String, String> configs() { return Map.of(); }
        @Override public void offset(Map<TopicPartition, Long> offsets) { }
        @Override public void offset(TopicPartition tp, long offset) { }
        @Override public void timeout(long ms) { timeout = ms; }
        @Override public Set<TopicPartition> assignment() { return Set.of(TP); }
        @Override public void pause(TopicPartition... partitions) { }
        @Override public void resume(TopicPartition... partitions) { }
        @Override public void requestCommit() { }
        @Override public PluginMetrics pluginMetrics() { return null; }

        @Override
        public ErrantRecordReporter errantRecordReporter() {
            if (!reporting) {
                return null;
            }
            return (SinkRecord record, Throwable error) -> {
                dlq.add(record);
                reasons.add(error.getMessage());
                Future<Void> f = CompletableFuture.completedFuture(null);
                return f;
            };
        }
    }

    final AtomicLong now = new AtomicLong(1_000_000);
    final FakeClickHouse ch = new FakeClickHouse();
    final Context ctx = new Context();

    ClickHouseSinkTask task(int batch, long linger) {
        ClickHouseSinkTask t = new ClickHouseSinkTask(now::get, ch);
        t.initialize(ctx);
        Map<String, String> props = new HashMap<>();
        props.put(SinkConfig.TABLE, "demo.events");
        props.put(SinkConfig.BATCH_MAX_RECORDS, Integer.toString(batch));
        props.put(SinkConfig.BATCH_LINGER_MS, Long.toString(linger));
        props.put(SinkConfig.RETRY_BACKOFF_MS, "100");
        props.put(SinkConfig.RETRY_BACKOFF_MAX_MS, "1000");
        t.start(props);
        return t;
    }

    static List<SinkRecord> records(long firstOffset, String... values) {
        List<SinkRecord> out = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            out.add(new SinkRecord(TP.topic(), TP.partition(), null, null, null, values[i], firstOffset + i));
        }
        return out;
    }

    static String good(int seq) {
        return "{\"run_id\":\"r\",\"seq\":" + seq + "}";
    }

    static String[] goods(int from, int n) {
        String[] v = new String[n];
        for (int i = 0; i < n; i++) {
            v[i] = good(from + i);
        }
        return v;
    }

    long committed(ClickHouseSinkTask t, long current) {
        Map<TopicPartition, OffsetAndMetadata> c = t.preCommit(Map.of(TP, new OffsetAndMetadata(current)));
        OffsetAndMetadata o = c.get(TP);
        return o == null ? -1 : o.offset();
    }

    @Test
    void fullBatchesAtOnceTheRestAfterLinger() {
        ClickHouseSinkTask t = task(10, 500);
        t.put(records(0, goods(0, 25)));
        assertEquals(2, ch.requests);
        assertEquals(20, ch.table.size());
        assertEquals(20, committed(t, 25), "buffered records are not committed");
        assertTrue(ctx.timeout > 0 && ctx.timeout <= 500, "asks to be called back at the linger deadline");
        now.addAndGet(499);
        t.put(List.of());
        assertEquals(20, ch.table.size());
        now.addAndGet(1);
        t.put(List.of());
        assertEquals(25, ch.table.size());
        assertEquals(3, ch.requests);
        assertEquals(25, committed(t, 25));
    }

    @Test
    void badRecordsGoToTheDeadLetterTopicAndGoodOnesArriveOnce() {
        ClickHouseSinkTask t = task(100, 0);
        String[] values = goods(0, 10);
        values[3] = "hello";
        values[6] = "{\"bad\":1}";
        values[8] = null;
        t.put(records(0, values));
        assertEquals(7, ch.table.size());
        assertEquals(7, Set.copyOf(ch.table).size(), "no good row twice");
        assertEquals(List.of(3L, 6L, 8L), ctx.dlq.stream().map(SinkRecord::kafkaOffset).toList());
        assertTrue(ctx.reasons.get(0).contains("not a JSON object"), ctx.reasons.get(0));
        assertTrue(ctx.reasons.get(1).contains("ClickHouse code 117"), ctx.reasons.get(1));
        assertTrue(ctx.reasons.get(2).contains("tombstone"), ctx.reasons.get(2));
        assertEquals(10, committed(t, 10));
    }

    @Test
    void withoutRowHintsTheBatchIsBisected() {
        ch.rowHints = false;
        ClickHouseSinkTask t = task(1000, 0);
        String[] values = goods(0, 1000);
        values[0] = "{\"bad\":0}";
        values[517] = "{\"bad\":517}";
        values[999] = "{\"bad\":999}";
        t.put(records(0, values));
        assertEquals(997, ch.table.size());
        assertEquals(997, Set.copyOf(ch.table).size());
        assertEquals(List.of(0L, 517L, 999L), ctx.dlq.stream().map(SinkRecord::kafkaOffset).toList());
        assertTrue(ch.requests < 80, "bisection stays logarithmic: " + ch.requests);
    }

    @Test
    void clickHouseDownIsRetriedWithBackoffAndNothingIsLostOrDuplicated() {
        ClickHouseSinkTask t = task(10, 0);
        ch.downFor = 3;
        t.put(records(0, goods(0, 10)));                   // attempt 1 fails: kept, retry in 100 ms
        assertEquals(0, ch.table.size());
        assertEquals(100, ctx.timeout);
        assertEquals(-1, committed(t, 10));
        assertThrows(RetriableException.class, () -> t.put(records(10, goods(10, 5))),
            "new records are handed back while waiting");
        now.addAndGet(100);
        t.put(List.of());                                   // attempt 2 fails: next wait 200 ms
        assertEquals(200, ctx.timeout);
        now.addAndGet(200);
        assertThrows(RetriableException.class, () -> t.put(records(10, goods(10, 5)))); // attempt 3 fails
        now.addAndGet(400);
        t.put(records(10, goods(10, 5)));                   // back: buffer, then the handed-back records
        assertEquals(15, ch.table.size());
        assertEquals(15, Set.copyOf(ch.table).size());
        assertEquals(15, committed(t, 15));
        assertTrue(ctx.dlq.isEmpty(), "an outage never sends records to the dead-letter topic");
    }

    @Test
    void serverFaultsAreTransientMisconfigurationIsFatal() {
        assertEquals(Answer.Kind.TRANSIENT, new Answer(500, "Code: 241, e.displayText() = DB::Exception: Memory limit").kind());
        assertEquals(Answer.Kind.TRANSIENT, new Answer(503, "").kind());
        assertEquals(Answer.Kind.DATA, new Answer(500, "Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected { before: hello: (at row 1)\n").kind());
        assertEquals(1, new Answer(500, "Code: 27, e.displayText() = x: (at row 1)\n").row());
        assertEquals(Answer.Kind.DATA, new Answer(400, "Code: 72, e.displayText() = DB::Exception: Unsigned").kind());
        assertEquals(Answer.Kind.FATAL, new Answer(404, "Code: 60, e.displayText() = DB::Exception: Table demo.x doesn't exist.").kind());
        ch.fixed = new Answer(401, "Code: 193, e.displayText() = DB::Exception: Wrong password for user writer, e.what() = DB::Exception");
        ClickHouseSinkTask t = task(10, 0);
        ConnectException e = assertThrows(ConnectException.class, () -> t.put(records(0, goods(0, 3))));
        assertTrue(e.getMessage().contains("code 193"), e.getMessage());
        assertEquals(-1, committed(t, 3));
    }

    @Test
    void withoutAReporterARejectedRecordFailsTheTask() {
        ctx.reporting = false;
        ClickHouseSinkTask t = task(10, 0);
        assertThrows(ConnectException.class, () -> t.put(records(0, "hello")));
    }

    @Test
    void closedPartitionsDropTheirBufferedRecords() {
        ClickHouseSinkTask t = task(100, 10_000);
        t.put(records(0, goods(0, 5)));
        t.close(List.of(TP));
        now.addAndGet(20_000);
        t.put(List.of());
        assertEquals(0, ch.table.size(), "re-delivered by the next owner from the committed offset instead");
    }

    @Test
    void framing() {
        assertEquals(null, Rows.oneObjectProblem(" {\"a\":\"}{\\\"\",\"b\":[1,{}]}\n"));
        assertTrue(Rows.oneObjectProblem("{\"a\":1}{\"a\":2}").contains("more than one"));
        assertTrue(Rows.oneObjectProblem("{\"a\":1").contains("not a complete"));
        assertTrue(Rows.oneObjectProblem("  ").contains("empty"));
        assertTrue(Rows.oneObjectProblem("[1]").contains("not a JSON object"));
    }
}
