package io.stackctl.connect.clickhouse;

import org.apache.kafka.connect.errors.ConnectException;

/**
 * Why a record went to the dead-letter topic. Its message becomes the
 * `__connect.errors.exception.message` header there: ClickHouse's reason or the sink's, never a
 * credential.
 */
public final class RejectedRecordException extends ConnectException {
    private static final long serialVersionUID = 1L;

    public RejectedRecordException(String message) {
        super(message);
    }
}
