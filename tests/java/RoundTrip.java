// Reads rendered files back with the JVM's own parsers, the way the services do:
//  - Kafka loads server.properties with Properties.load(InputStream) (ISO-8859-1), then parses
//    sasl.jaas.config with a StreamTokenizer set up like Kafka's JaasConfig;
//  - Connect's FileConfigProvider loads its secrets file with Properties.load(Reader) (UTF-8).
// Usage: java RoundTrip.java DIR...   For each DIR prints one line:
//   <hex of the user_app password from the broker JAAS> <hex of the password in the Connect secrets file>
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;

public class RoundTrip {
    public static void main(String[] args) throws Exception {
        for (String dir : args) {
            Properties server = new Properties();
            try (InputStream in = Files.newInputStream(Paths.get(dir, "kafka", "server.properties"))) {
                server.load(in);
            }
            Map<String, String> options = jaasOptions(server.getProperty("listener.name.internal.plain.sasl.jaas.config"));
            Properties writer = new Properties();
            try (Reader in = Files.newBufferedReader(Paths.get(dir, "connect", "secrets", "clickhouse-writer.properties"), StandardCharsets.UTF_8)) {
                writer.load(in);
            }
            System.out.println(hex(options.get("user_app")) + " " + hex(writer.getProperty("password")));
        }
    }

    static Map<String, String> jaasOptions(String config) throws IOException {
        StreamTokenizer t = new StreamTokenizer(new StringReader(config));
        t.slashSlashComments(true);
        t.slashStarComments(true);
        t.wordChars('-', '-');
        t.wordChars('_', '_');
        t.wordChars('$', '$');
        Map<String, String> options = new HashMap<>();
        if (t.nextToken() != StreamTokenizer.TT_WORD) throw new IOException("login module expected");
        if (t.nextToken() != StreamTokenizer.TT_WORD) throw new IOException("control flag expected");
        while (t.nextToken() != ';') {
            if (t.ttype != StreamTokenizer.TT_WORD) throw new IOException("option name expected, got " + t);
            String key = t.sval;
            if (t.nextToken() != '=') throw new IOException("= expected after " + key);
            int kind = t.nextToken();
            if (kind != '"' && kind != StreamTokenizer.TT_WORD) throw new IOException("value expected for " + key);
            options.put(key, t.sval);
        }
        return options;
    }

    static String hex(String s) {
        if (s == null) return "MISSING";
        StringBuilder b = new StringBuilder();
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) b.append(String.format("%02x", x));
        return b.toString();
    }
}
