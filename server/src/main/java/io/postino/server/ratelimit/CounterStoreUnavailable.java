package io.postino.server.ratelimit;

/** The rate-limit counters cannot be read or written (Redis down, timeout). */
public class CounterStoreUnavailable extends RuntimeException {
    public CounterStoreUnavailable(String message, Throwable cause) {
        super(message, cause);
    }
}
