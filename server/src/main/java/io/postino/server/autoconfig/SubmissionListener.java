package io.postino.server.autoconfig;

/**
 * One submission listener as clients are told about it: its port, and whether TLS starts with
 * the first byte (465, "SSL" in Thunderbird's words) or after STARTTLS (587).
 */
public record SubmissionListener(int port, boolean implicitTls) {
}
