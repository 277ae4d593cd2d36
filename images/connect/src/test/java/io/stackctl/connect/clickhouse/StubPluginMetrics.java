package io.stackctl.connect.clickhouse;

import java.util.LinkedHashMap;

import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.metrics.MetricValueProvider;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.common.metrics.Sensor;

/**
 * Connect's plugin metrics (KIP-877) for tests: over a real {@link Metrics} registry, as the
 * worker's own implementation is, so a name registered twice is refused with Kafka's own
 * "A metric named ... already exists" {@link IllegalArgumentException}. {@link #refusing()} refuses
 * every metric that way, like a worker whose previous task instance still holds the names.
 */
final class StubPluginMetrics implements PluginMetrics {
    static final String GROUP = "plugins";

    final Metrics registry = new Metrics();
    private final boolean refuse;
    /** addMetric calls, refused ones included. */
    int addMetricCalls;

    private StubPluginMetrics(boolean refuse) {
        this.refuse = refuse;
    }

    static StubPluginMetrics accepting() {
        return new StubPluginMetrics(false);
    }

    static StubPluginMetrics refusing() {
        return new StubPluginMetrics(true);
    }

    @Override
    public MetricName metricName(String name, String description, LinkedHashMap<String, String> tags) {
        return registry.metricName(name, GROUP, description, tags);
    }

    @Override
    public void addMetric(MetricName name, MetricValueProvider<?> provider) {
        addMetricCalls++;
        if (refuse) {
            throw new IllegalArgumentException("A metric named '" + name + "' already exists, can't register another one.");
        }
        registry.addMetric(name, provider);
    }

    @Override
    public void removeMetric(MetricName name) {
        registry.removeMetric(name);
    }

    @Override
    public Sensor addSensor(String name) {
        return registry.sensor(name);
    }

    @Override
    public void removeSensor(String name) {
        registry.removeSensor(name);
    }

    /** The registered metric `name`, or null. */
    KafkaMetric metric(String name) {
        return registry.metric(registry.metricName(name, GROUP));
    }

    /** The value of the registered metric `name` (which must exist). */
    double value(String name) {
        KafkaMetric m = metric(name);
        if (m == null) {
            throw new AssertionError("no metric named " + name);
        }
        return ((Number) m.metricValue()).doubleValue();
    }
}
