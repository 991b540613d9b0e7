package io.postino.config;

import java.nio.file.Path;

/** A configuration file cannot be used: where (file, line) and why, in words for the operator. */
public class ConfigFileException extends Exception {
    private final Path file;
    private final int line;
    private final String reason;

    public ConfigFileException(Path file, int line, String reason) {
        super(file + (line > 0 ? ":" + line : "") + ": " + reason);
        this.file = file;
        this.line = line;
        this.reason = reason;
    }

    public Path file() {
        return file;
    }

    /** 1-based; 0 when the problem is not on one line (unreadable file). */
    public int line() {
        return line;
    }

    public String reason() {
        return reason;
    }
}
