package io.stackctl.connect.clickhouse;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Buffers records and writes them to ClickHouse in batches ({@link BatchWriter}): one INSERT per
 * {@code batch.max.records} rows, or fewer once the oldest buffered record waited {@code batch.linger.ms}.
 *
 * <p>Exactly once: each row carries its topic, partition and offset, and the table is the offset
 * store ({@link OffsetStore}). When partitions are assigned, and after an INSERT that got no answer,
 * the task reads the highest offset the table holds per partition and skips every record at or
 * below it. Kafka's committed offsets ({@link #preCommit}) only save re-reading.
 *
 * <p>Bounded work: one put() spends at most {@code put.budget.ms} and {@code put.max.requests};
 * unfinished work resumes in the next call while consumption is paused. Dead-letter reports are
 * asynchronous (the framework awaits them before it commits offsets).
 */
public final class ClickHouseSinkTask extends SinkTask {
    private static final Logger log = LoggerFactory.getLogger(ClickHouseSinkTask.class);

    private final LongSupplier clock;
    private SinkConfig config;
    private Inserter inserter;
    private OffsetStore store;
    private ErrantRecordReporter reporter;
    final SinkMetrics metrics = new SinkMetrics();

    private final ArrayDeque<SinkRecord> buffer = new ArrayDeque<>();
    private BatchWriter batch;
    /** When the oldest buffered record arrived (clock millis). */
    private long oldestAt;
    /** Per partition: the highest offset the table holds (records at or below it are skipped). */
    private final Map<TopicPartition, Long> floors = new HashMap<>();
    private boolean reconcile = true;
    private Set<String> baseline;
    /** Columns rows may name: the baseline plus columns added since. */
    private final Set<String> known = new HashSet<>();
    private boolean paused;

    /** A failed request is being retried: not before this time (clock millis); 0 = none. */
    private long retryAt;
    private long backoff;
    private int attempts;
    private int unknownAttempts;

    public ClickHouseSinkTask() {
        this(System::currentTimeMillis, null);
    }

    /** For tests: a clock and a ClickHouse (null: HTTP to the configured server). */
    ClickHouseSinkTask(LongSupplier clock, Inserter inserter) {
        this.clock = clock;
        this.inserter = inserter;
    }

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        config = new SinkConfig(props);
        if (inserter == null) {
            inserter = new HttpInserter(config);
        }
        store = new OffsetStore(inserter, config.table());
        try {
            reporter = context.errantRecordReporter();
        } catch (NoSuchMethodError | NoClassDefFoundError e) {
            reporter = null; // a worker older than Kafka 2.6
        }
        PluginMetrics pm = null;
        try {
            pm = context.pluginMetrics();
        } catch (NoSuchMethodError | NoClassDefFoundError | UnsupportedOperationException e) {
            log.info("this worker offers no plugin metrics (KIP-877); counters appear in the stop line only");
        }
        String refused = metrics.register(pm);
        if (refused != null) {
            log.warn("plugin metrics not published for this task instance: {}", refused);
        }
        backoff = config.backoffMs();
        log.info("ClickHouse sink to {}: batches of at most {} rows, linger {} ms, put budget {} ms / {} requests, "
                + "schema drift: {}, dead-letter reporting {}", config.table(), config.batchMaxRecords(), config.lingerMs(),
            config.putBudgetMs(), config.putMaxRequests(), config.failOnDrift() ? "fail" : "dead-letter",
            reporter == null ? "OFF (a rejected record fails the task)" : "on");
    }

    @Override
    public void open(Collection<TopicPartition> partitions) {
        reconcile = true; // read the table's offsets before writing anything for them
    }

    @Override
    public void put(Collection<SinkRecord> records) {
        long now = clock.getAsLong();
        for (SinkRecord record : records) {
            if (buffer.isEmpty()) {
                oldestAt = now;
            }
            buffer.addLast(record);
        }
        work(now);
        boolean backlog = retryAt != 0 || (batch != null && buffer.size() >= config.batchMaxRecords());
        if (backlog != paused) {
            Set<TopicPartition> assigned = context.assignment();
            TopicPartition[] tps = assigned.toArray(new TopicPartition[0]);
            if (backlog) {
                context.pause(tps);
            } else {
                context.resume(tps);
            }
            paused = backlog;
        }
        if (retryAt != 0) {
            context.timeout(Math.max(1, retryAt - clock.getAsLong()));
        } else if (batch != null) {
            context.timeout(1); // unfinished: go on at once
        } else if (!buffer.isEmpty()) {
            context.timeout(Math.max(1, config.lingerMs() - (clock.getAsLong() - oldestAt)));
        }
    }

    /** Batches that are due, within this call's budget. */
    private void work(long now) {
        if (retryAt != 0 && now < retryAt) {
            return;
        }
        BatchWriter.Budget budget = new BatchWriter.Budget(clock, config.putBudgetMs(), config.putMaxRequests());
        try {
            prepare();
            while (!budget.spent()) {
                if (batch == null) {
                    batch = next(now);
                    if (batch == null) {
                        break;
                    }
                }
                if (!batch.run(budget)) {
                    break;
                }
                finished(batch);
                batch = null;
            }
            recovered();
        } catch (OffsetStore.Failure f) {
            failed(f, now);
        }
    }

    /** The table's columns and offsets, when not yet read or when an INSERT went unanswered. */
    private void prepare() throws OffsetStore.Failure {
        if (baseline == null) {
            Set<String> columns = store.columns();
            for (String c : List.of(SinkConfig.TOPIC_COLUMN, SinkConfig.PARTITION_COLUMN, SinkConfig.OFFSET_COLUMN)) {
                if (!columns.contains(c)) {
                    throw new OffsetStore.Failure(Answer.Kind.FATAL, "table " + config.table() + " has no column " + c
                        + "; the sink stores each row's topic, partition and offset (_topic String, _partition Int32, "
                        + "_offset Int64) to write exactly once. Add them (stackctl's schema.sql has them)");
                }
            }
            baseline = columns;
            known.addAll(columns);
        }
        String uncertain = batch == null ? null : batch.uncertainQueryId;
        if (!reconcile && uncertain == null) {
            return;
        }
        if (uncertain != null && store.running(uncertain)) {
            throw new OffsetStore.Failure(Answer.Kind.RETRIABLE, "an unanswered INSERT is still running in ClickHouse");
        }
        Set<String> topics = new HashSet<>();
        context.assignment().forEach(tp -> topics.add(tp.topic()));
        buffer.forEach(r -> topics.add(r.originalTopic()));
        floors.clear();
        floors.putAll(store.written(topics));
        reconcile = false;
        if (batch != null) {
            batch.dropWritten(floors);
        }
    }

    /** The next batch from the buffer, if one is due; records the table already holds are skipped. */
    private BatchWriter next(long now) {
        int max = config.batchMaxRecords();
        if (buffer.isEmpty() || (buffer.size() < max && now - oldestAt < config.lingerMs())) {
            return null;
        }
        List<SinkRecord> take = new ArrayList<>(Math.min(max, buffer.size()));
        while (take.size() < max && !buffer.isEmpty()) {
            SinkRecord r = buffer.removeFirst();
            Long floor = floors.get(partitionOf(r));
            if (floor != null && r.originalKafkaOffset() <= floor) {
                metrics.skipped++;
            } else {
                take.add(r);
            }
        }
        return take.isEmpty() ? null : new BatchWriter(take, inserter, this::report, drift());
    }

    private void finished(BatchWriter b) {
        metrics.written += b.written;
        if (b.startedAt >= 0) {
            metrics.batchTook((System.nanoTime() - b.startedAt) / 1_000_000);
        }
        if (b.notFramed + b.rejected > 0) {
            log.info("{}", b.summary());
        } else if (log.isDebugEnabled()) {
            log.debug("{}", b.summary());
        }
    }

    private BatchWriter.Drift drift() {
        return new BatchWriter.Drift() {
            @Override
            public Set<String> lostColumns() throws OffsetStore.Failure {
                Set<String> lost = new java.util.LinkedHashSet<>(baseline);
                lost.removeAll(store.columns());
                return lost;
            }

            @Override
            public Set<String> knownColumns(boolean refresh) throws OffsetStore.Failure {
                if (refresh) {
                    known.addAll(store.columns());
                }
                return known;
            }

            @Override
            public String table() {
                return config.table();
            }

            @Override
            public boolean failOnDrift() {
                return config.failOnDrift();
            }

            @Override
            public void deadLettered(int n, String what) {
                log.warn("schema drift: {}; {} records of this batch sent to the dead-letter topic "
                    + "(schema.drift.action=dead-letter)", what, n);
            }
        };
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> preCommit(Map<TopicPartition, OffsetAndMetadata> current) {
        // Per partition: up to the first record not yet finished, else everything delivered.
        Map<TopicPartition, Long> firstOpen = new HashMap<>();
        if (batch != null) {
            batch.records.forEach(r -> firstOpen.putIfAbsent(partitionOf(r), r.originalKafkaOffset()));
        }
        buffer.forEach(r -> firstOpen.putIfAbsent(partitionOf(r), r.originalKafkaOffset()));
        Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
        for (Map.Entry<TopicPartition, OffsetAndMetadata> e : current.entrySet()) {
            Long open = firstOpen.get(e.getKey());
            long offset = open == null ? e.getValue().offset() : Math.min(open, e.getValue().offset());
            commit.put(e.getKey(), new OffsetAndMetadata(offset));
        }
        return commit;
    }

    @Override
    public void close(Collection<TopicPartition> partitions) {
        // Partitions leave this task: whoever gets them reads the table's offsets first.
        buffer.removeIf(r -> partitions.contains(partitionOf(r)));
        if (batch != null && batch.records.stream().anyMatch(r -> partitions.contains(partitionOf(r)))) {
            for (int i = batch.records.size() - 1; i >= 0; i--) {
                SinkRecord r = batch.records.get(i);
                if (!partitions.contains(partitionOf(r))) {
                    buffer.addFirst(r);
                }
            }
            batch = null;
        }
        partitions.forEach(floors::remove);
        paused = false;
        reconcile = true;
        if (buffer.isEmpty()) {
            retryAt = 0;
        }
    }

    @Override
    public void stop() {
        log.info("ClickHouse sink stopping: {}; {} records left buffered (re-delivered after restart)",
            metrics, buffer.size() + (batch == null ? 0 : batch.records.size()));
        buffer.clear();
        batch = null;
    }

    /** Sends a record to the dead-letter topic; the framework awaits the write before committing. */
    private void report(SinkRecord record, String reason) {
        if (reporter == null) {
            throw new ConnectException("record " + partitionOf(record) + "@" + record.originalKafkaOffset()
                + " cannot be written and no dead-letter topic is configured (errors.deadletterqueue.topic.name): " + reason);
        }
        reporter.report(record, new RejectedRecordException(reason));
        metrics.deadLettered++;
    }

    private void failed(OffsetStore.Failure f, long now) {
        if (f.kind == Answer.Kind.FATAL) {
            throw new ConnectException("ClickHouse refused the sink's request on " + config.table() + " (" + f.getMessage()
                + "); the sink's table, login or privileges are wrong, no record can be written");
        }
        if (f.kind == Answer.Kind.UNKNOWN && ++unknownAttempts > config.retryUnknownMax()) {
            throw new ConnectException("ClickHouse answered with an error the sink does not know, " + unknownAttempts
                + " times (retry.unknown.max=" + config.retryUnknownMax() + "): " + f.getMessage());
        }
        attempts++;
        metrics.retries++;
        metrics.retrying = 1;
        long wait = backoff;
        backoff = Math.min(backoff * 2, config.backoffMaxMs());
        retryAt = now + wait;
        log.warn("ClickHouse did not take the batch (attempt {}): {}; retrying in {} ms, consumption paused",
            attempts, f.getMessage(), wait);
    }

    private void recovered() {
        if (attempts > 0) {
            log.info("ClickHouse accepts rows again after {} failed attempt(s)", attempts);
        }
        attempts = 0;
        unknownAttempts = 0;
        retryAt = 0;
        metrics.retrying = 0;
        backoff = config.backoffMs();
    }

    private static TopicPartition partitionOf(SinkRecord r) {
        return new TopicPartition(r.originalTopic(), r.originalKafkaPartition());
    }
}
