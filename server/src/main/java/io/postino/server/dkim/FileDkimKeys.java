package io.postino.server.dkim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.dkim.DkimKey;
import io.postino.dkim.DkimKeys;

/**
 * DKIM keys under the data directory: {@code <data>/dkim/<domain>/<selector>.key}, each the PKCS#8
 * private key in PEM, readable by the server's user only. The public key is derived from it. A
 * domain's newest key signs; older ones stay until deleted, so that mail signed before a
 * rotation still verifies while their DNS record is kept. Keys are read once per domain and
 * cached; changes through this node apply at once.
 */
public final class FileDkimKeys implements DkimKeys {
    private static final Logger LOGGER = LoggerFactory.getLogger(FileDkimKeys.class);
    private static final Pattern SELECTOR = Pattern.compile("[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?");
    private static final Pattern DOMAIN = Pattern.compile("([a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?\\.)+[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?");
    private static final String SUFFIX = ".key";

    private final Path directory;
    private final ConcurrentHashMap<String, List<DkimKey>> cache = new ConcurrentHashMap<>();

    public FileDkimKeys(Path directory) {
        this.directory = directory;
    }

    @Override
    public Optional<DkimKey> signingKey(String domain) {
        return keys(domain).stream().findFirst();
    }

    @Override
    public List<DkimKey> keys(String domain) {
        String name = domain.toLowerCase(Locale.ROOT);
        if (!DOMAIN.matcher(name).matches()) {
            return List.of();
        }
        return cache.computeIfAbsent(name, this::read);
    }

    private List<DkimKey> read(String domain) {
        Path folder = directory.resolve(domain);
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        List<DkimKey> keys = new ArrayList<>();
        try (Stream<Path> files = Files.list(folder)) {
            for (Path file : (Iterable<Path>) files.filter(path -> path.getFileName().toString().endsWith(SUFFIX))::iterator) {
                String selector = file.getFileName().toString().substring(0, file.getFileName().toString().length() - SUFFIX.length());
                try {
                    PrivateKey privateKey = parse(Files.readString(file, StandardCharsets.US_ASCII));
                    keys.add(new DkimKey(domain, selector, privateKey, publicOf(privateKey), Files.getLastModifiedTime(file).toInstant()));
                } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
                    LOGGER.error("DKIM key {} cannot be read and is not used: {}", file, e.getMessage());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the DKIM keys of " + domain + " in " + folder, e);
        }
        keys.sort(Comparator.comparing(DkimKey::createdAt).thenComparing(DkimKey::selector).reversed());
        return List.copyOf(keys);
    }

    @Override
    public synchronized DkimKey generate(String domain, String selector, int bits) {
        String name = domain.toLowerCase(Locale.ROOT);
        if (!DOMAIN.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + domain + "' is not a domain name");
        }
        if (!SELECTOR.matcher(selector).matches()) {
            throw new IllegalArgumentException("selector '" + selector + "' must be a DNS label: lower-case letters, digits and '-'");
        }
        if (keys(name).stream().anyMatch(key -> key.selector().equals(selector))) {
            throw new IllegalArgumentException("domain " + name + " already has a key with selector '" + selector + "'");
        }
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(bits);
            KeyPair pair = generator.generateKeyPair();
            Path folder = Files.createDirectories(directory.resolve(name));
            Path temporary = Files.createTempFile(folder, selector, ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(temporary, pem(pair.getPrivate()), StandardCharsets.US_ASCII);
            Path file = folder.resolve(selector + SUFFIX);
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
            cache.remove(name);
            LOGGER.info("Generated DKIM key {} ({} bits) for {}", selector, bits, name);
            return new DkimKey(name, selector, pair.getPrivate(), pair.getPublic(), Files.getLastModifiedTime(file).toInstant());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot store the DKIM key of " + name + " under " + directory, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Cannot generate an RSA key", e);
        }
    }

    @Override
    public synchronized boolean delete(String domain, String selector) {
        String name = domain.toLowerCase(Locale.ROOT);
        if (!DOMAIN.matcher(name).matches() || !SELECTOR.matcher(selector).matches()) {
            return false;
        }
        try {
            boolean deleted = Files.deleteIfExists(directory.resolve(name).resolve(selector + SUFFIX));
            cache.remove(name);
            return deleted;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete the DKIM key " + selector + " of " + name, e);
        }
    }

    private static String pem(PrivateKey key) {
        return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(key.getEncoded())
            + "\n-----END PRIVATE KEY-----\n";
    }

    private static PrivateKey parse(String pem) throws GeneralSecurityException {
        String base64 = pem.replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "").replaceAll("\\s", "");
        return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
    }

    private static PublicKey publicOf(PrivateKey key) throws GeneralSecurityException {
        RSAPrivateCrtKey rsa = (RSAPrivateCrtKey) key;
        return KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()));
    }
}
