package io.postino.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Certificates as an operator gets them from certbot (a PEM chain {@code fullchain.pem} and a
 * PKCS#8 {@code privkey.pem}), made with openssl for the tests.
 */
final class TestCertificates {
    private TestCertificates() {
    }

    /**
     * A self-signed EC certificate for {@code host} (and {@code otherNames}, as further
     * subjectAltNames) in {@code directory}/fullchain.pem and privkey.pem.
     */
    static void write(Path directory, String host, String... otherNames) throws IOException, InterruptedException {
        Files.createDirectories(directory);
        StringBuilder names = new StringBuilder("subjectAltName=DNS:" + host);
        for (String name : otherNames) {
            names.append(",DNS:").append(name);
        }
        run(directory, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "privkey.pem", "-out", "fullchain.pem", "-days", "30", "-subj", "/CN=" + host, "-addext", names.toString());
    }

    private static void run(Path directory, String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(List.of(command)).directory(directory.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + output);
        }
    }
}
