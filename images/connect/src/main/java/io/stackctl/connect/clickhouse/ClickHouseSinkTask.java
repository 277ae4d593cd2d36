package io.stackctl.connect.clickhouse;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Buffers records and writes them to ClickHouse in batches: one {@code INSERT ... FORMAT
 * JSONEachRow} per {@code batch.max.records} rows, or fewer once the oldest buffered record has
 * waited {@code batch.linger.ms}.
 *
 * <p>Delivery: offsets are committed only for records that are written or reported
 * ({@link #preCommit}), so a crash, a rebalance or a stop re-delivers what was still buffered: at
 * least once. A batch smaller than ClickHouse's max_insert_block_size is parsed whole before any
 * of it is written, so a rejected INSERT wrote nothing; it is split (at the row ClickHouse names,
 * else in halves) until the bad records stand alone, and those go to the dead-letter topic through
 * the framework's ErrantRecordReporter. The good records around them are written once.
 *
 * <p>Failures: a ClickHouse that cannot be reached or answers with a server fault is retried with
 * exponential backoff, without end; new records are handed back to the framework meanwhile
 * (RetriableException pauses consumption). A misconfiguration (unknown table, wrong login, no
 * privilege) fails the task: no record could be written, and none is lost.
 */
public final class ClickHouseSinkTask extends SinkTask {
    private static final Logger log = LoggerFactory.getLogger(ClickHouseSinkTask.class);
    private static final long REPORT_TIMEOUT_MS = 120_000;

    private final LongSupplier clock;
    private SinkConfig config;
    private Inserter inserter;
    private ErrantRecordReporter reporter;

    private final ArrayDeque<SinkRecord> buffer = new ArrayDeque<>();
    /** When the oldest buffered record arrived (clock millis). */
    private long oldestAt;
    /** Per partition: the offset after the last record written or reported. */
    private final Map<TopicPartition, Long> done = new HashMap<>();

    /** A transient failure is being retried: not before this time (clock millis); 0 = none. */
    private long retryAt;
    private long backoff;
    private int attempts;

    private long rowsWritten;
    private long rowsReported;

    public ClickHouseSinkTask() {
        this(System::currentTimeMillis, null);
    }

    /** For tests: a clock and an inserter (null: HTTP to the configured server). */
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
        try {
            reporter = context.errantRecordReporter();
        } catch (NoSuchMethodError | NoClassDefFoundError e) {
            reporter = null; // a worker older than Kafka 2.6
        }
        backoff = config.backoffMs();
        log.info("ClickHouse sink to {}: batches of at most {} rows, linger {} ms, dead-letter reporting {}",
            config.getString(SinkConfig.TABLE), config.batchMaxRecords(), config.lingerMs(),
            reporter == null ? "OFF (a rejected record fails the task)" : "on");
    }

    @Override
    public void put(Collection<SinkRecord> records) {
        long now = clock.getAsLong();
        if (retryAt != 0) {
            if (now < retryAt) {
                waitForRetry(now, records);
                return;
            }
            try {
                sendDue(now, true);
                recovered();
            } catch (TransientFailure f) {
                failed(f, now);
                waitForRetry(now, records);
                return;
            }
        }
        for (SinkRecord record : records) {
            if (buffer.isEmpty()) {
                oldestAt = now;
            }
            buffer.addLast(record);
        }
        try {
            sendDue(now, false);
        } catch (TransientFailure f) {
            // These records were taken into the buffer (some may be written): keep them, retry later.
            failed(f, now);
            context.timeout(retryAt - now);
            return;
        }
        if (!buffer.isEmpty()) {
            // Be called again when the linger time is up, even if no record arrives.
            context.timeout(Math.max(1, config.lingerMs() - (now - oldestAt)));
        }
    }

    /** Until the retry time: be called again then, and hand new records back to the framework. */
    private void waitForRetry(long now, Collection<SinkRecord> records) {
        context.timeout(Math.max(1, retryAt - now));
        if (!records.isEmpty()) {
            throw new RetriableException("ClickHouse is not accepting rows yet (attempt " + attempts
                + "); " + buffer.size() + " buffered, " + records.size() + " handed back for later");
        }
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> preCommit(Map<TopicPartition, OffsetAndMetadata> current) {
        // Only what is written or reported; buffered records come again after a restart.
        Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
        for (Map.Entry<TopicPartition, Long> e : done.entrySet()) {
            OffsetAndMetadata offered = current.get(e.getKey());
            if (offered != null) {
                commit.put(e.getKey(), new OffsetAndMetadata(Math.min(e.getValue(), offered.offset())));
            }
        }
        return commit;
    }

    @Override
    public void close(Collection<TopicPartition> partitions) {
        // Partitions leave this task: their buffered records will be consumed again from the
        // committed offsets by whoever gets them.
        buffer.removeIf(r -> partitions.contains(partitionOf(r)));
        partitions.forEach(done::remove);
        if (buffer.isEmpty()) {
            retryAt = 0;
        }
    }

    @Override
    public void stop() {
        log.info("ClickHouse sink stopping: {} rows written, {} records sent to the dead-letter topic, {} left buffered (re-delivered after restart)",
            rowsWritten, rowsReported, buffer.size());
        buffer.clear();
    }

    /** Full batches; and the rest too when it has lingered long enough (or `force`). */
    private void sendDue(long now, boolean force) throws TransientFailure {
        int max = config.batchMaxRecords();
        while (buffer.size() >= max) {
            sendHead(max);
        }
        if (!buffer.isEmpty() && (force || now - oldestAt >= config.lingerMs())) {
            sendHead(buffer.size());
        }
    }

    /** Delivers the first `n` buffered records; whatever got written or reported leaves the buffer. */
    private void sendHead(int n) throws TransientFailure {
        long t0 = System.nanoTime();
        Batch batch = new Batch(n);
        try {
            batch.deliver(0, n);
        } finally {
            if (log.isDebugEnabled()) {
                log.debug("batch of {} rows: {} done in {} ms ({} buffered, oldest waited {} ms)", n, batch.done,
                    (System.nanoTime() - t0) / 1_000_000, buffer.size(), clock.getAsLong() - oldestAt);
            }
            for (int i = 0; i < batch.done; i++) {
                SinkRecord r = buffer.removeFirst();
                done.put(partitionOf(r), r.originalKafkaOffset() + 1);
            }
        }
    }

    /** One batch from the head of the buffer; records [0, done) are written or reported. */
    private final class Batch {
        final List<SinkRecord> records;
        final List<Rows.Row> rows;
        int done;

        Batch(int n) {
            records = new ArrayList<>(n);
            rows = new ArrayList<>(n);
            Iterator<SinkRecord> it = buffer.iterator();
            for (int i = 0; i < n; i++) {
                SinkRecord r = it.next();
                records.add(r);
                rows.add(Rows.of(r.value()));
            }
        }

        void deliver(int from, int to) throws TransientFailure {
            if (from >= to) {
                return;
            }
            for (int k = from; k < to; k++) {
                if (!rows.get(k).ok()) {
                    deliver(from, k);
                    report(records.get(k), new RejectedRecordException(rows.get(k).problem()));
                    done = k + 1;
                    deliver(k + 1, to);
                    return;
                }
            }
            Answer answer = insert(from, to);
            switch (answer.kind()) {
                case OK -> {
                    rowsWritten += to - from;
                    done = to;
                }
                case DATA -> {
                    if (to - from == 1) {
                        report(records.get(from), new RejectedRecordException("ClickHouse rejected the row: " + answer.summary()));
                        done = to;
                        return;
                    }
                    int row = answer.row();
                    if (row >= 1 && row <= to - from) {
                        // ClickHouse names the row: the rows before it parsed, so split around it.
                        int bad = from + row - 1;
                        deliver(from, bad);
                        deliver(bad, bad + 1);
                        deliver(bad + 1, to);
                    } else {
                        int mid = (from + to) >>> 1;
                        deliver(from, mid);
                        deliver(mid, to);
                    }
                }
                case FATAL -> throw new ConnectException("ClickHouse refused the INSERT into "
                    + config.getString(SinkConfig.TABLE) + " (" + answer.summary()
                    + "); the sink's table, login or privileges are wrong, no record can be written");
                case TRANSIENT -> throw new TransientFailure(answer.summary());
            }
        }

        private Answer insert(int from, int to) throws TransientFailure {
            List<byte[]> body = new ArrayList<>(to - from);
            for (int i = from; i < to; i++) {
                body.add(rows.get(i).bytes());
            }
            try {
                return inserter.insert(body);
            } catch (IOException e) {
                throw new TransientFailure("ClickHouse unreachable: " + e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ConnectException("interrupted while writing to ClickHouse", e);
            }
        }
    }

    /** Sends a record to the dead-letter topic and waits until it is there. */
    private void report(SinkRecord record, RejectedRecordException why) {
        TopicPartition tp = partitionOf(record);
        if (reporter == null) {
            throw new ConnectException("record " + tp + "@" + record.originalKafkaOffset()
                + " cannot be written and no dead-letter topic is configured (errors.deadletterqueue.topic.name): "
                + why.getMessage());
        }
        log.warn("record {}@{} sent to the dead-letter topic: {}", tp, record.originalKafkaOffset(), why.getMessage());
        try {
            reporter.report(record, why).get(REPORT_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new ConnectException("could not write record " + tp + "@" + record.originalKafkaOffset()
                + " to the dead-letter topic", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConnectException("interrupted while writing to the dead-letter topic", e);
        }
        rowsReported++;
    }

    private void failed(TransientFailure f, long now) {
        attempts++;
        long wait = backoff;
        backoff = Math.min(backoff * 2, config.backoffMaxMs());
        retryAt = now + wait;
        log.warn("ClickHouse did not take {} buffered rows (attempt {}): {}; retrying in {} ms",
            buffer.size(), attempts, f.getMessage(), wait);
    }

    private void recovered() {
        if (attempts > 0) {
            log.info("ClickHouse accepts rows again after {} failed attempt(s)", attempts);
        }
        attempts = 0;
        retryAt = 0;
        backoff = config.backoffMs();
    }

    private static TopicPartition partitionOf(SinkRecord r) {
        return new TopicPartition(r.originalTopic(), r.originalKafkaPartition());
    }

    /** ClickHouse could not take the rows now; the same rows may succeed later. */
    static final class TransientFailure extends Exception {
        private static final long serialVersionUID = 1L;

        TransientFailure(String message) {
            super(message);
        }
    }
}
