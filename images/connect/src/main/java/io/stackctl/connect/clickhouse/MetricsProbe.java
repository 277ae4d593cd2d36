package io.stackctl.connect.clickhouse;

import java.util.Set;

import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

import com.sun.tools.attach.VirtualMachine;

/**
 * Prints the sink tasks' plugin metrics (KIP-877, registered by {@link SinkMetrics}) as
 * {@code <connector>.<task>.<metric>=<value>} lines, read from the running worker's own MBean
 * server: the worker publishes plugin metrics through its JMX reporter, and this probe reaches it
 * with the JDK's attach API (same container, same user; no JMX port is opened). `stackctl status`
 * runs it with an exec in the Connect container:
 * {@code java -cp <plugin jar> io.stackctl.connect.clickhouse.MetricsProbe 1}.
 */
public final class MetricsProbe {
    private MetricsProbe() {
    }

    public static void main(String[] args) throws Exception {
        String pid = args.length > 0 ? args[0] : "1";
        VirtualMachine vm = VirtualMachine.attach(pid);
        try {
            String address = vm.startLocalManagementAgent();
            try (JMXConnector jmx = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
                MBeanServerConnection server = jmx.getMBeanServerConnection();
                Set<ObjectName> names = server.queryNames(new ObjectName("kafka.connect:*"), null);
                for (ObjectName name : names) {
                    print(server, name);
                }
            }
        } finally {
            vm.detach();
        }
    }

    /** The MBeans that carry this sink's metrics (a `rows-written-total` attribute). */
    private static void print(MBeanServerConnection server, ObjectName name) throws Exception {
        MBeanAttributeInfo[] attributes = server.getMBeanInfo(name).getAttributes();
        boolean ours = false;
        for (MBeanAttributeInfo a : attributes) {
            ours |= a.getName().equals("rows-written-total");
        }
        if (!ours) {
            return;
        }
        String prefix = unquote(name.getKeyProperty("connector")) + "." + unquote(name.getKeyProperty("task")) + ".";
        for (MBeanAttributeInfo a : attributes) {
            System.out.println(prefix + a.getName() + "=" + server.getAttribute(name, a.getName()));
        }
    }

    private static String unquote(String s) {
        if (s == null) {
            return "?";
        }
        return s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"") ? s.substring(1, s.length() - 1) : s;
    }
}
