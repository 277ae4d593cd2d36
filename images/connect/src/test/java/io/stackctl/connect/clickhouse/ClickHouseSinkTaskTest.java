package io.stackctl.connect.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTaskContext;
import org.junit.jupiter.api.Test;

class ClickHouseSinkTaskTest {
    static final TopicPartition TP = new TopicPartition("events", 0);
    static final TopicPartition TP1 = new TopicPartition("events", 1);

    static final class Context implements SinkTaskContext {
        final List<SinkRecord> dlq = new ArrayList<>();
        final List<String> reasons = new ArrayList<>();
        long timeout = -1;
        boolean reporting = true;
        boolean paused;
        PluginMetrics pluginMetrics;

        @Override public Map<String, String> configs() { return Map.of(); }
        @Override public void offset(Map<TopicPartition, Long> offsets) { }
        @Override public void offset(TopicPartition tp, long offset) { }
        @Override public void timeout(long ms) { timeout = ms; }
        @Override public Set<TopicPartition> assignment() { return Set.of(TP, TP1); }
        @Override public void pause(TopicPartition... partitions) { paused = true; }
        @Override public void resume(TopicPartition... partitions) { paused = false; }
        @Override public void requestCommit() { }
        @Override public PluginMetrics pluginMetrics() { return pluginMetrics; }

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
    final Map<String, String> extra = new HashMap<>();

    ClickHouseSinkTask task(int batch, long linger) {
        ClickHouseSinkTask t = new ClickHouseSinkTask(now::get, ch);
        t.initialize(ctx);
        Map<String, String> props = new HashMap<>(extra);
        props.put(SinkConfig.TABLE, "demo.events");
        props.put(SinkConfig.BATCH_MAX_RECORDS, Integer.toString(batch));
        props.put(SinkConfig.BATCH_LINGER_MS, Long.toString(linger));
        props.put(SinkConfig.RETRY_BACKOFF_MS, "100");
        props.put(SinkConfig.RETRY_BACKOFF_MAX_MS, "1000");
        t.start(props);
        t.open(List.of(TP, TP1));
        return t;
    }

    static List<SinkRecord> records(TopicPartition tp, long firstOffset, String... values) {
        List<SinkRecord> out = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            out.add(new SinkRecord(tp.topic(), tp.partition(), null, null, null, values[i], firstOffset + i));
        }
        return out;
    }

    static List<SinkRecord> records(long firstOffset, String... values) {
        return records(TP, firstOffset, values);
    }

    static String good(int seq) {
        return "{\"run_id\":\"r\",\"seq\":" + seq + ",\"payload\":\"p\"}";
    }

    static String[] goods(int from, int n) {
        String[] v = new String[n];
        for (int i = 0; i < n; i++) {
            v[i] = good(from + i);
        }
        return v;
    }

    long committed(ClickHouseSinkTask t, TopicPartition tp, long current) {
        Map<TopicPartition, OffsetAndMetadata> c = t.preCommit(Map.of(tp, new OffsetAndMetadata(current)));
        OffsetAndMetadata o = c.get(tp);
        return o == null ? -1 : o.offset();
    }

    long committed(ClickHouseSinkTask t, long current) {
        return committed(t, TP, current);
    }

    @Test
    void fullBatchesAtOnceTheRestAfterLinger() {
        ClickHouseSinkTask t = task(10, 500);
        t.put(records(0, goods(0, 25)));
        assertEquals(2, ch.parts);
        assertEquals(20, ch.table.size());
        assertEquals(20, committed(t, 25), "buffered records are not committed");
        assertTrue(ctx.timeout > 0 && ctx.timeout <= 500, "asks to be called back at the linger deadline");
        now.addAndGet(499);
        t.put(List.of());
        assertEquals(20, ch.table.size());
        now.addAndGet(1);
        t.put(List.of());
        assertEquals(25, ch.table.size());
        assertEquals(3, ch.parts);
        assertEquals(25, committed(t, 25));
        assertTrue(ch.table.get(0).startsWith("{\"_topic\":\"events\",\"_partition\":0,\"_offset\":0,\"run_id\""), ch.table.get(0));
    }

    @Test
    void badRecordsGoToTheDeadLetterTopicAndGoodOnesArriveOnceInOnePart() {
        ClickHouseSinkTask t = task(100, 0);
        String[] values = goods(0, 10);
        values[3] = "hello";
        values[6] = "{\"seq\":\"six\"}";
        values[8] = null;
        values[9] = "{\"seq\":9,\"nope\":2}";
        t.put(records(0, values));
        assertEquals(List.of("0", "1", "2", "4", "5", "7"), ch.seqs());
        assertEquals(1, ch.parts, "the good rows go as one INSERT");
        assertEquals(List.of(3L, 8L, 9L, 6L), ctx.dlq.stream().map(SinkRecord::kafkaOffset).toList());
        assertTrue(ctx.reasons.get(0).contains("not a JSON object"), ctx.reasons.get(0));
        assertTrue(ctx.reasons.get(1).contains("tombstone"), ctx.reasons.get(1));
        assertTrue(ctx.reasons.get(2).contains("field `nope`"), ctx.reasons.get(2));
        assertTrue(ctx.reasons.get(3).contains("ClickHouse code 27"), ctx.reasons.get(3));
        assertEquals(10, committed(t, 10));
        assertEquals(6, t.metrics.written);
        assertEquals(4, t.metrics.deadLettered);
    }

    @Test
    void unknownColumnsAreJudgedWithoutARequestAndNewColumnsAreLearnt() {
        ClickHouseSinkTask t = task(10, 0);
        t.put(records(0, "{\"seq\":1,\"nope\":1}", "{\"seq\":2,\"_offset\":5}"));
        assertEquals(2, ctx.dlq.size());
        assertEquals(0, ch.inserts, "no request for rows the table cannot take");
        assertTrue(ctx.reasons.get(1).contains("fills itself"), ctx.reasons.get(1));
        ch.columns.add("nope");
        t.put(records(2, "{\"seq\":3,\"nope\":1}"));
        assertEquals(1, ch.table.size(), "a column added after the start is asked for and accepted");
        assertEquals(List.of("seq", "a", "b"), Rows.topLevelKeys("{\"seq\":1,\"a\":{\"x\":[1,\"y\"]},\"b\":\"s,t\"}"));
        assertEquals(null, Rows.topLevelKeys("{\"s\\u0065q\":1}"));
    }

    @Test
    void aStormOfBadRecordsIsBoundedAndEachGoesOnceToTheDeadLetterTopic() {
        ClickHouseSinkTask t = task(5000, 0);
        String[] kinds = {"not json", "[1,2]", "{\"run_id\":\"r\",\"seq\":\"x\"", "{\"run_id\":\"r\",\"extra\":1}"};
        int storm = 20_000;
        List<SinkRecord> all = new ArrayList<>();
        for (int i = 0; i < storm; i++) {
            all.addAll(records(i, kinds[i % kinds.length]));
        }
        all.addAll(records(storm, goods(0, 100)));
        for (int from = 0; from < all.size(); from += 5000) {
            t.put(all.subList(from, Math.min(all.size(), from + 5000)));
        }
        now.addAndGet(1);
        t.put(List.of());
        assertEquals(storm, ctx.dlq.size());
        assertEquals(storm, ctx.dlq.stream().map(SinkRecord::kafkaOffset).distinct().count(), "each exactly once");
        assertEquals(100, ch.table.size());
        assertTrue(ch.parts <= 2, "parts: " + ch.parts);
        assertEquals(storm + 100, committed(t, storm + 100));
    }

    @Test
    void withoutRowHintsRowsAreJudgedOneByOne() {
        ch.rowHints = false;
        ClickHouseSinkTask t = task(100, 0);
        String[] values = goods(0, 100);
        values[0] = "{\"seq\":\"0\"}";
        values[51] = "{\"seq\":\"51\"}";
        values[99] = "{\"seq\":\"99\"}";
        t.put(records(0, values));
        assertEquals(97, ch.table.size());
        assertEquals(List.of(0L, 51L, 99L), ctx.dlq.stream().map(SinkRecord::kafkaOffset).toList());
        assertEquals(1, ch.parts);
    }

    @Test
    void workIsBoundedPerPutAndResumesInTheNextCall() {
        extra.put(SinkConfig.PUT_MAX_REQUESTS, "10");
        ClickHouseSinkTask t = task(1000, 0);
        String[] values = goods(0, 1000);
        for (int i = 0; i < 1000; i += 20) {
            values[i] = "{\"seq\":\"" + i + "\"}";
        }
        t.put(records(0, values));
        assertEquals(10, ch.inserts, "the request budget stops the call");
        assertEquals(0, committed(t, 1000), "nothing of an unfinished batch is committed");
        assertEquals(1, ctx.timeout, "asks to be called again at once");
        for (int i = 0; i < 10 && ch.table.isEmpty(); i++) {
            t.put(List.of());
        }
        assertEquals(950, ch.table.size());
        assertEquals(50, ctx.dlq.size());
        assertEquals(1000, committed(t, 1000));
    }

    @Test
    void anOutageIsRetriedWithBackoffWhileConsumptionIsPaused() {
        ClickHouseSinkTask t = task(10, 0);
        t.put(List.of()); // reads the table's columns and offsets
        ch.downFor = 3;
        t.put(records(0, goods(0, 10)));
        assertEquals(0, ch.table.size());
        assertEquals(100, ctx.timeout);
        assertTrue(ctx.paused, "no new records pile up while ClickHouse is away");
        assertEquals(0, committed(t, 10));
        now.addAndGet(100);
        t.put(List.of());
        assertEquals(200, ctx.timeout);
        now.addAndGet(200);
        t.put(List.of());
        now.addAndGet(400);
        t.put(List.of());
        assertEquals(10, ch.table.size());
        assertTrue(!ctx.paused);
        assertEquals(10, committed(t, 10));
        assertEquals(3, t.metrics.retries);
        assertTrue(ctx.dlq.isEmpty(), "an outage never sends records to the dead-letter topic");
    }

    @Test
    void anInsertWhoseAnswerIsLostIsNotWrittenTwice() {
        ClickHouseSinkTask t = task(10, 0);
        ch.loseNextAnswer = true;
        t.put(records(0, goods(0, 10)));
        assertEquals(10, ch.table.size(), "the INSERT landed");
        now.addAndGet(100);
        t.put(records(10, goods(10, 5)));
        assertEquals(15, ch.table.size(), "reconciled against the table: the first 10 are not sent again");
        assertEquals(15, Set.copyOf(ch.table).size());
    }

    @Test
    void aTaskStartedWhileItsPreviousInstanceHoldsTheMetricNamesRunsOnItsCounters() {
        StubPluginMetrics pm = StubPluginMetrics.accepting();
        ctx.pluginMetrics = pm;
        ClickHouseSinkTask previous = task(10, 0);
        previous.put(records(0, goods(0, 10)));
        ClickHouseSinkTask restarted = task(10, 0); // the names are taken: logged, not thrown
        restarted.put(records(0, goods(0, 15)));
        assertEquals(15, ch.table.size());
        assertEquals(5, restarted.metrics.written);
        assertEquals(10, restarted.metrics.skipped);
        assertEquals(10.0, pm.value("rows-written-total"), "the published gauges are the previous instance's");
        previous.stop();
        restarted.stop();
    }

    @Test
    void aTaskWhoseMetricsAreRefusedStillWrites() {
        ctx.pluginMetrics = StubPluginMetrics.refusing();
        ClickHouseSinkTask t = task(10, 0);
        t.put(records(0, goods(0, 10)));
        assertEquals(10, ch.table.size());
        assertEquals(10, t.metrics.written);
        assertEquals(10, committed(t, 10));
    }

    @Test
    void aRestartSkipsWhatTheTableHolds() {
        ClickHouseSinkTask t = task(10, 0);
        t.put(records(0, goods(0, 10)));
        t.put(records(TP1, 0, goods(100, 3)));
        // Crash before any commit: a new task gets everything again from offset 0.
        ClickHouseSinkTask again = task(10, 0);
        again.put(records(0, goods(0, 15)));
        again.put(records(TP1, 0, goods(100, 3)));
        assertEquals(18, ch.table.size());
        assertEquals(18, Set.copyOf(ch.table).size(), "no row twice");
        assertEquals(13, again.metrics.skipped);
        assertEquals(15, committed(again, 15));
    }

    @Test
    void aPartitionWithNothingToWriteIsStillCommitted() {
        ClickHouseSinkTask t = task(10, 0);
        t.put(records(TP1, 0, "junk", "junk"));
        assertEquals(2, committed(t, TP1, 2));
        assertEquals(7, committed(t, TP, 7), "nothing of TP is open: all it was given is done");
    }

    @Test
    void schemaDriftFailsTheTaskWithTheReasonByDefault() {
        ClickHouseSinkTask t = task(10, 0);
        t.put(records(0, goods(0, 10)));
        ch.columns.remove("payload");
        ConnectException e = assertThrows(ConnectException.class, () -> t.put(records(10, goods(10, 10))));
        assertTrue(e.getMessage().contains("lost column(s) [payload]"), e.getMessage());
        assertTrue(ctx.dlq.isEmpty(), "nothing dead-lettered: the rows wait for the table");
        assertEquals(10, committed(t, 20));
        ch.columns.add("payload");
        ClickHouseSinkTask again = task(10, 0);
        again.put(records(10, goods(10, 10)));
        assertEquals(20, ch.table.size(), "resumes with nothing lost");
    }

    @Test
    void schemaDriftCanDeadLetterTheBatch() {
        extra.put(SinkConfig.SCHEMA_DRIFT_ACTION, "dead-letter");
        ClickHouseSinkTask t = task(10, 0);
        t.put(records(0, goods(0, 10)));
        ch.columns.remove("payload");
        t.put(records(10, goods(10, 10)));
        assertEquals(10, ctx.dlq.size());
        assertTrue(ctx.reasons.get(0).contains("schema drift"), ctx.reasons.get(0));
        assertEquals(20, committed(t, 20));
        assertTrue(ch.inserts < 5, "no request per row: " + ch.inserts);
    }

    @Test
    void anUnknownErrorIsRetriedABoundedNumberOfTimes() {
        extra.put(SinkConfig.RETRY_UNKNOWN_MAX, "2");
        ClickHouseSinkTask t = task(10, 0);
        t.put(List.of());
        ch.fixed = new Answer(500, "Code: 9999, e.displayText() = DB::Exception: something new");
        t.put(records(0, goods(0, 3)));
        now.addAndGet(100);
        t.put(List.of());
        now.addAndGet(200);
        ConnectException e = assertThrows(ConnectException.class, () -> t.put(List.of()));
        assertTrue(e.getMessage().contains("code 9999"), e.getMessage());
    }

    @Test
    void classification() {
        assertEquals(Answer.Kind.RETRIABLE, new Answer(500, "Code: 241, e.displayText() = DB::Exception: Memory limit").kind());
        assertEquals(Answer.Kind.RETRIABLE, new Answer(500, "Code: 252, e.displayText() = DB::Exception: Too many parts").kind());
        assertEquals(Answer.Kind.RETRIABLE, new Answer(503, "").kind());
        assertEquals(Answer.Kind.UNKNOWN, new Answer(500, "Code: 1, e.displayText() = DB::Exception: ?").kind());
        assertEquals(Answer.Kind.DATA, new Answer(500, "Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected { before: hello: (at row 1)\n").kind());
        assertEquals(1, new Answer(500, "Code: 27, e.displayText() = x: (at row 1)\n").row());
        assertEquals(Answer.Kind.FATAL, new Answer(404, "Code: 60, e.displayText() = DB::Exception: Table demo.x doesn't exist.").kind());
    }

    @Test
    void misconfigurationIsFatal() {
        ch.fixed = new Answer(401, "Code: 193, e.displayText() = DB::Exception: Wrong password for user writer, e.what() = DB::Exception");
        ClickHouseSinkTask t = task(10, 0);
        t.put(List.of());
        ConnectException e = assertThrows(ConnectException.class, () -> t.put(records(0, goods(0, 3))));
        assertTrue(e.getMessage().contains("code 193"), e.getMessage());
        assertEquals(0, committed(t, 3));
    }

    @Test
    void aTableWithoutOffsetColumnsFailsWithTheFix() {
        ch.columns.remove("_offset");
        ClickHouseSinkTask t = task(10, 0);
        ConnectException e = assertThrows(ConnectException.class, () -> t.put(records(0, goods(0, 3))));
        assertTrue(e.getMessage().contains("has no column _offset"), e.getMessage());
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
    void framingAndSourceColumns() {
        assertNull(Rows.oneObjectProblem(" {\"a\":\"}{\\\"\",\"b\":[1,{}]}\n"));
        assertTrue(Rows.oneObjectProblem("{\"a\":1}{\"a\":2}").contains("more than one"));
        assertTrue(Rows.oneObjectProblem("{\"a\":1").contains("not a complete"));
        assertTrue(Rows.oneObjectProblem("  ").contains("empty"));
        assertTrue(Rows.oneObjectProblem("[1]").contains("not a JSON object"));
        assertEquals("{\"_topic\":\"events\",\"_partition\":2,\"_offset\":7}\n",
            new String(Rows.of(" { } ", "events", 2, 7).bytes(), java.nio.charset.StandardCharsets.UTF_8));
        assertEquals("{\"_topic\":\"events\",\"_partition\":2,\"_offset\":7,\"a\":1}\n",
            new String(Rows.of("{\"a\":1}", "events", 2, 7).bytes(), java.nio.charset.StandardCharsets.UTF_8));
    }
}
