package io.postino.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Temporary directories under target/, removed after the test class. */
final class TestFiles {
    private TestFiles() {
    }

    static Path createTemporaryDirectory(String prefix) throws IOException {
        Path base = Path.of("target", "it-work").toAbsolutePath();
        Files.createDirectories(base);
        return Files.createTempDirectory(base, prefix + "-");
    }

    /** Run with -Dpostino.keepTestFiles=true to keep them, logs included, for a post-mortem. */
    static void deleteRecursively(Path directory) throws IOException {
        if (directory == null || !Files.exists(directory) || Boolean.getBoolean("postino.keepTestFiles")) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }

    /** Stops what a test class started and deletes its files; any of them may be null. */
    static void stopAll(PostinoProcess postino, SmtpSink sink, Path directory) throws Exception {
        try {
            if (postino != null) {
                postino.stop();
            }
        } finally {
            if (sink != null) {
                sink.close();
            }
            deleteRecursively(directory);
        }
    }
}
