package io.postino.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The password of the keystore that James generates on first start when none exists
 * ({@code --generate-keystore}): random, kept beside the keystore, readable by its owner only.
 */
final class TlsSecret {
    static final String KEYSTORE = "tls/postino-keystore.p12";
    static final String SECRET = "tls/postino-keystore.secret";

    private TlsSecret() {
    }

    static String loadOrCreate(Path dataDirectory) throws IOException {
        Path file = dataDirectory.resolve(SECRET);
        if (Files.exists(file)) {
            return Files.readString(file, StandardCharsets.US_ASCII).trim();
        }
        Files.createDirectories(file.getParent());
        byte[] random = new byte[24];
        new SecureRandom().nextBytes(random);
        String secret = HexFormat.of().formatHex(random);
        Files.writeString(file, secret, StandardCharsets.US_ASCII);
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: nothing more to restrict
        }
        return secret;
    }
}
