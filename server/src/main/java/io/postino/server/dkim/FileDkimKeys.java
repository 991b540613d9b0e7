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
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.dkim.DkimKey;
import io.postino.dkim.DkimKeys;
import io.postino.dkim.Ed25519DkimProvider;

/**
 * DKIM keys under the data directory: {@code <data>/dkim/<domain>/<selector>.key}, the PKCS#8
 * private key in PEM, readable by the server's user only, and {@code <selector>.pub}, the public
 * key (X.509 SubjectPublicKeyInfo in PEM), and {@code <selector>.active} once it is activated.
 * RSA or Ed25519, told apart by the key itself. A domain's newest active key of each algorithm signs; older ones stay until deleted, so that mail signed
 * before a rotation still verifies while their DNS record is kept. Keys are read once per domain
 * and cached; changes through this node apply at once.
 */
public final class FileDkimKeys implements DkimKeys {
    private static final Logger LOGGER = LoggerFactory.getLogger(FileDkimKeys.class);
    private static final Pattern DOMAIN = Pattern.compile("([a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?\\.)+[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?");
    private static final String SUFFIX = ".key";
    private static final String PUBLIC_SUFFIX = ".pub";
    /** Present when the key signs (an empty file). */
    private static final String ACTIVE_SUFFIX = ".active";

    private final Path directory;
    private final ConcurrentHashMap<String, List<DkimKey>> cache = new ConcurrentHashMap<>();

    public FileDkimKeys(Path directory) {
        this.directory = directory;
        Ed25519DkimProvider.install();
    }

    @Override
    public List<DkimKey> signingKeys(String domain) {
        List<DkimKey> signing = new ArrayList<>();
        for (DkimKey key : keys(domain)) {
            if (key.active() && signing.stream().noneMatch(chosen -> chosen.algorithm() == key.algorithm())) {
                signing.add(key);
            }
        }
        return List.copyOf(signing);
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
                    KeyPair pair = read(file, folder.resolve(selector + PUBLIC_SUFFIX));
                    DkimKey.Algorithm algorithm = pair.getPrivate() instanceof RSAPrivateCrtKey ? DkimKey.Algorithm.RSA : DkimKey.Algorithm.ED25519;
                    keys.add(new DkimKey(domain, selector, algorithm, pair.getPrivate(), pair.getPublic(), Files.getLastModifiedTime(file).toInstant(),
                        Files.exists(folder.resolve(selector + ACTIVE_SUFFIX))));
                } catch (IOException | GeneralSecurityException | IllegalArgumentException | ClassCastException e) {
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
    public synchronized DkimKey generate(String domain, String selector, DkimKey.Algorithm algorithm, int bits) {
        String name = domain.toLowerCase(Locale.ROOT);
        if (!DOMAIN.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + domain + "' is not a domain name");
        }
        if (!DkimKey.isSelector(selector)) {
            throw new IllegalArgumentException("selector '" + selector + "' must be a DNS label: lower-case letters, digits and '-'");
        }
        if (keys(name).stream().anyMatch(key -> key.selector().equals(selector))) {
            throw new IllegalArgumentException("domain " + name + " already has a key with selector '" + selector + "'");
        }
        try {
            KeyPair pair;
            if (algorithm == DkimKey.Algorithm.RSA) {
                KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
                generator.initialize(bits);
                pair = generator.generateKeyPair();
            } else {
                pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            }
            Path folder = Files.createDirectories(directory.resolve(name));
            write(folder, selector + PUBLIC_SUFFIX, pem("PUBLIC KEY", pair.getPublic().getEncoded()), "rw-r--r--");
            // the private key last: a key is there once its .key file is
            Path file = write(folder, selector + SUFFIX, pem("PRIVATE KEY", pair.getPrivate().getEncoded()), "rw-------");
            cache.remove(name);
            LOGGER.info("Generated DKIM key {} ({}) for {}", selector, algorithm == DkimKey.Algorithm.RSA ? bits + "-bit RSA" : "Ed25519", name);
            return new DkimKey(name, selector, algorithm, pair.getPrivate(), pair.getPublic(), Files.getLastModifiedTime(file).toInstant(), false);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot store the DKIM key of " + name + " under " + directory, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Cannot generate an RSA key", e);
        }
    }

    @Override
    public synchronized boolean activate(String domain, String selector) {
        String name = domain.toLowerCase(Locale.ROOT);
        if (!DOMAIN.matcher(name).matches() || !DkimKey.isSelector(selector)
            || !Files.exists(directory.resolve(name).resolve(selector + SUFFIX))) {
            return false;
        }
        try {
            Path marker = directory.resolve(name).resolve(selector + ACTIVE_SUFFIX);
            if (!Files.exists(marker)) {
                Files.createFile(marker);
            }
            cache.remove(name);
            LOGGER.info("DKIM key {} of {} signs from now on", selector, name);
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot activate the DKIM key " + selector + " of " + name, e);
        }
    }

    @Override
    public synchronized boolean delete(String domain, String selector) {
        String name = domain.toLowerCase(Locale.ROOT);
        if (!DOMAIN.matcher(name).matches() || !DkimKey.isSelector(selector)) {
            return false;
        }
        try {
            boolean deleted = Files.deleteIfExists(directory.resolve(name).resolve(selector + SUFFIX));
            Files.deleteIfExists(directory.resolve(name).resolve(selector + PUBLIC_SUFFIX));
            Files.deleteIfExists(directory.resolve(name).resolve(selector + ACTIVE_SUFFIX));
            cache.remove(name);
            return deleted;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete the DKIM key " + selector + " of " + name, e);
        }
    }

    private static Path write(Path folder, String name, String content, String permissions) throws IOException {
        Path temporary = Files.createTempFile(folder, name, ".tmp", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(permissions)));
        io.postino.server.DurableFiles.writeSynced(temporary, content, StandardCharsets.US_ASCII);
        return io.postino.server.DurableFiles.moveSynced(temporary, folder.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
            + "\n-----END " + type + "-----\n";
    }

    private static byte[] der(String pem) {
        return Base64.getDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", ""));
    }

    /** The private key is RSA or Ed25519; the public key is read from its file, or derived for RSA. */
    private static KeyPair read(Path privateFile, Path publicFile) throws IOException, GeneralSecurityException {
        byte[] privateDer = der(Files.readString(privateFile, StandardCharsets.US_ASCII));
        PrivateKey privateKey;
        try {
            privateKey = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(privateDer));
        } catch (GeneralSecurityException notRsa) {
            privateKey = KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(privateDer));
        }
        PublicKey publicKey;
        if (Files.exists(publicFile)) {
            publicKey = KeyFactory.getInstance(privateKey instanceof RSAPrivateCrtKey ? "RSA" : "Ed25519")
                .generatePublic(new X509EncodedKeySpec(der(Files.readString(publicFile, StandardCharsets.US_ASCII))));
        } else if (privateKey instanceof RSAPrivateCrtKey) {
            RSAPrivateCrtKey rsa = (RSAPrivateCrtKey) privateKey;
            publicKey = KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()));
        } else {
            throw new IllegalArgumentException("the Ed25519 key has no public key file " + publicFile.getFileName());
        }
        return new KeyPair(publicKey, privateKey);
    }
}
