package io.stackctl.connect.clickhouse;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.kafka.common.metrics.Measurable;
import org.junit.jupiter.api.Test;

/** {@link SinkMetrics#register}: published gauges read the counters; taken names are a message, not a throw. */
class SinkMetricsTest {
    static void count(SinkMetrics m) {
        m.written = 7;
        m.deadLettered = 2;
        m.retries = 3;
        m.skipped = 4;
        m.retrying = 1;
    }

    @Test
    void acceptedNamesPublishGaugesThatReadTheCounters() {
        StubPluginMetrics pm = StubPluginMetrics.accepting();
        SinkMetrics m = new SinkMetrics();
        assertNull(m.register(pm));
        assertEquals(0.0, pm.value("rows-written-total"));
        count(m);
        assertEquals(7.0, pm.value("rows-written-total"));
        assertEquals(2.0, pm.value("records-dead-lettered-total"));
        assertEquals(3.0, pm.value("retries-total"));
        assertEquals(4.0, pm.value("rows-skipped-total"));
        assertEquals(1.0, pm.value("retrying"));
        m.batchTook(40);
        m.batchTook(10);
        assertEquals(40.0, pm.value("batch-latency-max-ms"));
        assertEquals(25.0, pm.value("batch-latency-avg-ms"));
    }

    @Test
    void takenNamesAreReturnedNotThrownAndTheCountersStillCount() {
        StubPluginMetrics pm = StubPluginMetrics.refusing();
        SinkMetrics m = new SinkMetrics();
        String refused = m.register(pm);
        assertEquals("A metric named 'MetricName [name=rows-written-total, group=plugins, description=rows written to "
            + "ClickHouse, tags={}]' already exists, can't register another one.", refused);
        assertEquals(1, pm.addMetricCalls, "stops at the first refusal");
        assertDoesNotThrow(() -> m.batchTook(40));
        assertNull(pm.metric("batch-latency-max-ms"), "no latency sensor published");
        count(m);
        m.written++;
        assertEquals("8 rows written, 2 records dead-lettered, 3 retries, 4 re-delivered rows skipped (already in ClickHouse)",
            m.toString());
    }

    @Test
    void aSecondInstanceOnTheSameRegistryGetsKafkasOwnRefusal() {
        StubPluginMetrics pm = StubPluginMetrics.accepting();
        SinkMetrics first = new SinkMetrics();
        SinkMetrics second = new SinkMetrics();
        assertNull(first.register(pm));
        String refused = second.register(pm);
        assertNotNull(refused);
        assertTrue(refused.startsWith("A metric named ") && refused.contains("rows-written-total")
            && refused.contains("already exists"), refused);
        second.written = 5;
        first.written = 9;
        assertEquals(9.0, pm.value("rows-written-total"), "the gauges still read the first instance's counters");
        assertDoesNotThrow(() -> second.batchTook(40));
    }

    @Test
    void aLatencyNameTakenAfterTheGaugesStillLeavesBatchTookHarmless() {
        StubPluginMetrics pm = StubPluginMetrics.accepting();
        pm.addMetric(pm.metricName("batch-latency-avg-ms", "taken", new java.util.LinkedHashMap<>()),
            (Measurable) (config, now) -> -1);
        SinkMetrics m = new SinkMetrics();
        String refused = m.register(pm);
        assertNotNull(refused);
        assertTrue(refused.contains("batch-latency-avg-ms") && refused.contains("already exists"), refused);
        assertDoesNotThrow(() -> m.batchTook(40));
        assertEquals(-1.0, pm.value("batch-latency-avg-ms"), "the holder's metric is left alone");
    }

    @Test
    void noPluginMetricsMeansCountersOnly() {
        SinkMetrics m = new SinkMetrics();
        assertNull(m.register(null));
        assertDoesNotThrow(() -> m.batchTook(40));
    }
}
