package io.postino.server.webadmin;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The credentials of WebAdmin, kept under {@code <data>/webadmin}, readable only by the user
 * Postino runs as.
 *
 * <ul>
 *   <li>The operator token ({@code operator.token}): made on first start, printed once; it may do
 *   everything. Delete the file and restart to replace it.</li>
 *   <li>Scoped tokens ({@code tokens.json}, only their SHA-256 kept): made by the operator with
 *   {@code POST /tokens}, each for one organisation ({@code organisation:<id>}).</li>
 * </ul>
 */
public final class WebAdminTokens {
    static final String OPERATOR_FILE = "operator.token";
    private static final String SCOPED_FILE = "tokens.json";
    private static final String PREFIX = "pst_";
    private static final Pattern ORGANISATION_SCOPE = Pattern.compile("organisation:[A-Za-z0-9][A-Za-z0-9_.-]*");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Who a token speaks for: the operator, or the admins of one organisation. */
    public record Scope(Optional<String> organisation) {
        public static final Scope OPERATOR = new Scope(Optional.empty());

        public static Scope parse(String text) {
            if ("operator".equals(text)) {
                return OPERATOR;
            }
            if (text != null && ORGANISATION_SCOPE.matcher(text).matches()) {
                return new Scope(Optional.of(text.substring("organisation:".length())));
            }
            throw new IllegalArgumentException("scope must be 'organisation:<id>', got '" + text + "'");
        }

        public boolean operator() {
            return organisation.isEmpty();
        }

        public String asString() {
            return organisation.map(id -> "organisation:" + id).orElse("operator");
        }
    }

    /** A scoped token as kept: never the token itself. */
    public record Issued(String id, String scope, String description, String created, String sha256) {
    }

    /** A token made just now: the only time its value is known. */
    public record Made(Issued issued, String token) {
    }

    private final Path directory;
    private final String operatorHash;
    private final boolean operatorCreated;
    private final List<Issued> scoped = new CopyOnWriteArrayList<>();

    private WebAdminTokens(Path directory, String operatorHash, boolean operatorCreated, List<Issued> scoped) {
        this.directory = directory;
        this.operatorHash = operatorHash;
        this.operatorCreated = operatorCreated;
        this.scoped.addAll(scoped);
    }

    /** Reads the tokens under {@code directory}, making the operator token on first start. */
    public static WebAdminTokens open(Path directory) throws IOException {
        Files.createDirectories(directory);
        restrict(directory, "rwx------");
        Path operatorFile = directory.resolve(OPERATOR_FILE);
        boolean created = false;
        if (!Files.exists(operatorFile)) {
            writeOwnerOnly(operatorFile, newToken() + "\n");
            created = true;
        }
        String operator = Files.readString(operatorFile, StandardCharsets.US_ASCII).trim();
        if (operator.length() < 20) {
            throw new IOException(operatorFile + " holds no usable token: delete it and restart to make a new one");
        }
        List<Issued> scoped = List.of();
        Path scopedFile = directory.resolve(SCOPED_FILE);
        if (Files.exists(scopedFile)) {
            scoped = JSON.readValue(scopedFile.toFile(), new TypeReference<List<Issued>>() { });
        }
        return new WebAdminTokens(directory, sha256(operator), created, scoped);
    }

    public Path operatorFile() {
        return directory.resolve(OPERATOR_FILE);
    }

    /** Whether {@link #open} made the operator token (so it is shown once). */
    public boolean operatorCreated() {
        return operatorCreated;
    }

    public String operatorToken() throws IOException {
        return Files.readString(operatorFile(), StandardCharsets.US_ASCII).trim();
    }

    /** The scope of {@code token}, if it is one of ours. */
    public Optional<Scope> scopeOf(String token) {
        String hash = sha256(token);
        if (equal(hash, operatorHash)) {
            return Optional.of(Scope.OPERATOR);
        }
        for (Issued issued : scoped) {
            if (equal(hash, issued.sha256())) {
                return Optional.of(Scope.parse(issued.scope()));
            }
        }
        return Optional.empty();
    }

    public synchronized Made issue(Scope scope, String description) throws IOException {
        if (scope.operator()) {
            throw new IllegalArgumentException("only organisation tokens can be made; the operator token is " + operatorFile());
        }
        String token = newToken();
        String id = HexFormat.of().formatHex(randomBytes(6));
        Issued issued = new Issued(id, scope.asString(), description == null ? "" : description, Instant.now().toString(), sha256(token));
        List<Issued> next = new ArrayList<>(scoped);
        next.add(issued);
        save(next);
        scoped.add(issued);
        return new Made(issued, token);
    }

    public List<Issued> issued() {
        return List.copyOf(scoped);
    }

    public synchronized boolean revoke(String id) throws IOException {
        List<Issued> next = new ArrayList<>(scoped);
        if (!next.removeIf(issued -> issued.id().equals(id))) {
            return false;
        }
        save(next);
        scoped.removeIf(issued -> issued.id().equals(id));
        return true;
    }

    private void save(List<Issued> tokens) throws IOException {
        writeOwnerOnly(directory.resolve(SCOPED_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tokens));
    }

    private static String newToken() {
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes(32));
    }

    private static byte[] randomBytes(int count) {
        byte[] bytes = new byte[count];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean equal(String a, String b) {
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.US_ASCII), b.getBytes(StandardCharsets.US_ASCII));
    }

    private static void writeOwnerOnly(Path file, String content) throws IOException {
        Path temporary = file.resolveSibling(file.getFileName() + ".new");
        Files.deleteIfExists(temporary);
        Files.createFile(temporary);
        restrict(temporary, "rw-------");
        io.postino.server.DurableFiles.writeSynced(temporary, content, StandardCharsets.UTF_8);
        io.postino.server.DurableFiles.moveSynced(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void restrict(Path path, String permissions) throws IOException {
        try {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(permissions));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: nothing more to restrict
        }
    }

    static Map<String, Object> describe(Issued issued) {
        return Map.of("id", issued.id(), "scope", issued.scope(), "description", issued.description(), "created", issued.created());
    }
}
