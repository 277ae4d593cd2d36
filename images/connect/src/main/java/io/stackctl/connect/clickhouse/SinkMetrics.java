package io.stackctl.connect.clickhouse;

import java.util.LinkedHashMap;

import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.Measurable;
import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.common.metrics.stats.Avg;
import org.apache.kafka.common.metrics.stats.Max;

/**
 * The task's counters, registered through Connect's plugin metrics (KIP-877,
 * SinkTaskContext#pluginMetrics): the worker publishes them with its own (JMX by default) under
 * {@code kafka.connect:type=plugins,connector=<name>,task=<id>}, and removes them when the task stops.
 */
final class SinkMetrics {
    long written;
    long deadLettered;
    long retries;
    long skipped;
    /** 0 writing, 1 retrying (ClickHouse not accepting rows). */
    volatile int retrying;
    private Sensor latency;

    /**
     * Registers the metrics; `metrics` null (a worker without KIP-877, or a test): counters only.
     * Returns why they could not be registered, or null. A task restarted while its previous
     * instance is still stopping finds the names taken ("already exists"): the task then runs with
     * its counters only (they still reach the stop line) rather than fail for its metrics.
     */
    String register(PluginMetrics metrics) {
        if (metrics == null) {
            return null;
        }
        try {
            registerAll(metrics);
            return null;
        } catch (IllegalArgumentException e) {
            latency = null;
            return e.getMessage();
        }
    }

    private void registerAll(PluginMetrics metrics) {
        gauge(metrics, "rows-written-total", "rows written to ClickHouse", () -> written);
        gauge(metrics, "records-dead-lettered-total", "records sent to the dead-letter topic", () -> deadLettered);
        gauge(metrics, "retries-total", "failed requests that were or will be retried", () -> retries);
        gauge(metrics, "rows-skipped-total", "re-delivered records the table already held (not written again)", () -> skipped);
        gauge(metrics, "retrying", "1 while ClickHouse does not accept rows and the batch waits for a retry", () -> retrying);
        latency = metrics.addSensor("batch-latency");
        latency.add(metrics.metricName("batch-latency-avg-ms", "time from a batch's first request to its end", new LinkedHashMap<>()), new Avg());
        latency.add(metrics.metricName("batch-latency-max-ms", "longest batch, first request to end", new LinkedHashMap<>()), new Max());
    }

    void batchTook(long millis) {
        if (latency != null) {
            latency.record(millis);
        }
    }

    private interface Value {
        long get();
    }

    private static void gauge(PluginMetrics metrics, String name, String doc, Value value) {
        MetricName metric = metrics.metricName(name, doc, new LinkedHashMap<>());
        metrics.addMetric(metric, (Measurable) (config, now) -> value.get());
    }

    @Override
    public String toString() {
        return written + " rows written, " + deadLettered + " records dead-lettered, " + retries + " retries, "
            + skipped + " re-delivered rows skipped (already in ClickHouse)";
    }
}
