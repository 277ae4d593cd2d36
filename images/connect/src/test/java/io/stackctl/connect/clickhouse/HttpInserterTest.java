package io.stackctl.connect.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;

class HttpInserterTest {
    @Test
    void postsOneBlockWithHeaderCredentialsAndTheStatementInTheQuery() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        AtomicReference<String> seen = new AtomicReference<>();
        server.createContext("/", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            seen.set(exchange.getRequestMethod() + " " + exchange.getRequestURI().getRawQuery() + " "
                + exchange.getRequestHeaders().getFirst("X-ClickHouse-User") + ":"
                + exchange.getRequestHeaders().getFirst("X-ClickHouse-Key") + " " + body);
            byte[] answer = "Code: 27, e.displayText() = DB::Exception: x: (at row 2)\n".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(500, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        server.start();
        try {
            SinkConfig config = new SinkConfig(Map.of(
                SinkConfig.URL, "http://127.0.0.1:" + server.getAddress().getPort(),
                SinkConfig.TABLE, "demo.events",
                SinkConfig.USER, "writer",
                SinkConfig.PASSWORD, "s3cret"));
            Answer a = new HttpInserter(config).insert(List.of("{\"a\":1}\n".getBytes(StandardCharsets.UTF_8),
                "{\"a\":2}\n".getBytes(StandardCharsets.UTF_8)), "q1");
            assertEquals(500, a.status());
            assertEquals(27, a.code());
            assertEquals(2, a.row());
            assertEquals("POST query=INSERT%20INTO%20demo.events%20FORMAT%20JSONEachRow&max_insert_block_size=1048576"
                + "&query_id=q1 writer:s3cret {\"a\":1}\n{\"a\":2}\n", seen.get());
        } finally {
            server.stop(0);
        }
    }
}
