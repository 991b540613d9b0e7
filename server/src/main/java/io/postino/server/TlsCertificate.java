package io.postino.server;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.Optional;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The TLS certificate of the SMTP listeners: PEM files, as certbot writes them
 * ({@code fullchain.pem} and {@code privkey.pem}), or, when none are given, a self-signed one
 * generated under the data directory for {@code POSTINO_HOSTNAME} (as subjectAltName, so a client
 * that trusts it can verify the name), valid for a year and made anew when the host name changes
 * or less than 30 days are left.
 */
public final class TlsCertificate {
    static final String GENERATED_CERTIFICATE = "tls/postino.crt";
    static final String GENERATED_KEY = "tls/postino.key";
    private static final Duration VALIDITY = Duration.ofDays(365);
    private static final Duration RENEW_BEFORE = Duration.ofDays(30);

    /** The files to use, and whether they were just generated. */
    record Pem(Path certificate, Path privateKey, boolean generated) {
    }

    private TlsCertificate() {
    }

    /**
     * @throws PostinoSettings.InvalidSettingException when given files cannot be read, are not
     *         PEM, or the key does not belong to the first certificate
     */
    static Pem resolve(Path dataDirectory, String hostname, String certificate, String privateKey)
        throws PostinoSettings.InvalidSettingException, IOException, GeneralSecurityException {
        if (certificate.isEmpty() != privateKey.isEmpty()) {
            throw new PostinoSettings.InvalidSettingException("Set both POSTINO_TLS_CERTIFICATE and POSTINO_TLS_PRIVATE_KEY, or neither");
        }
        if (!certificate.isEmpty()) {
            Path certificateFile = Path.of(certificate).toAbsolutePath();
            Path keyFile = Path.of(privateKey).toAbsolutePath();
            check(certificateFile, keyFile);
            return new Pem(certificateFile, keyFile, false);
        }
        Path certificateFile = dataDirectory.resolve(GENERATED_CERTIFICATE);
        Path keyFile = dataDirectory.resolve(GENERATED_KEY);
        if (Files.exists(certificateFile) && Files.exists(keyFile) && stillFits(certificateFile, hostname)) {
            return new Pem(certificateFile, keyFile, false);
        }
        generate(certificateFile, keyFile, hostname);
        return new Pem(certificateFile, keyFile, true);
    }

    static void check(Path certificateFile, Path keyFile) throws PostinoSettings.InvalidSettingException {
        Optional<Problem> problem = problem(certificateFile, keyFile);
        if (problem.isPresent()) {
            String setting = problem.get().ofKey() ? "POSTINO_TLS_PRIVATE_KEY: " : "POSTINO_TLS_CERTIFICATE: ";
            throw new PostinoSettings.InvalidSettingException(setting + problem.get().text());
        }
    }

    /**
     * Why a renewed pair cannot replace the one in use: as at start-up, and also when its first
     * certificate is not valid at {@code now}.
     *
     * @return the reason, naming the file, or empty when the pair can be used
     */
    public static Optional<String> unusableRenewal(Path certificateFile, Path keyFile, Instant now) {
        Optional<Problem> problem = problem(certificateFile, keyFile);
        if (problem.isPresent()) {
            return Optional.of(problem.get().text());
        }
        try {
            X509Certificate first = certificates(certificateFile).get(0);
            if (now.isBefore(first.getNotBefore().toInstant()) || now.isAfter(first.getNotAfter().toInstant())) {
                return Optional.of(certificateFile + ": the first certificate is valid from " + first.getNotBefore().toInstant()
                    + " to " + first.getNotAfter().toInstant() + ", not now");
            }
        } catch (IOException | GeneralSecurityException e) {
            return Optional.of(certificateFile + ": not a readable PEM certificate chain: " + e.getMessage());
        }
        return Optional.empty();
    }

    /** What is wrong with a pair, and whether it is the key file's fault. */
    private record Problem(boolean ofKey, String text) {
    }

    private static Optional<Problem> problem(Path certificateFile, Path keyFile) {
        List<X509Certificate> chain;
        try {
            chain = certificates(certificateFile);
        } catch (IOException | GeneralSecurityException e) {
            return Optional.of(new Problem(false, certificateFile + ": not a readable PEM certificate chain: " + e.getMessage()));
        }
        if (chain.isEmpty()) {
            return Optional.of(new Problem(false, certificateFile + ": holds no certificate"));
        }
        PrivateKey key;
        try {
            key = privateKey(keyFile);
        } catch (IOException | RuntimeException e) {
            return Optional.of(new Problem(true, keyFile + ": not a readable, unencrypted PEM private key: " + e.getMessage()));
        }
        if (!matches(key, chain.get(0))) {
            return Optional.of(new Problem(true, keyFile + " is not the key of the first certificate in " + certificateFile));
        }
        return Optional.empty();
    }

    /**
     * The pair as an in-memory PKCS#12 key store (one entry, alias {@code postino}, password
     * {@code password}), for an HTTPS listener that takes a key store.
     */
    public static java.security.KeyStore keyStore(Path certificateFile, Path keyFile, char[] password)
        throws IOException, GeneralSecurityException {
        List<X509Certificate> chain = certificates(certificateFile);
        if (chain.isEmpty()) {
            throw new GeneralSecurityException(certificateFile + ": holds no certificate");
        }
        java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("postino", privateKey(keyFile), password, chain.toArray(new X509Certificate[0]));
        return store;
    }

    private static boolean stillFits(Path certificateFile, String hostname) {
        try {
            X509Certificate certificate = certificates(certificateFile).get(0);
            Collection<List<?>> names = certificate.getSubjectAlternativeNames();
            boolean named = names != null && names.stream().anyMatch(name -> hostname.equalsIgnoreCase(String.valueOf(name.get(1))));
            return named && certificate.getNotAfter().toInstant().isAfter(Instant.now().plus(RENEW_BEFORE));
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    private static List<X509Certificate> certificates(Path file) throws IOException, GeneralSecurityException {
        byte[] pem = Files.readAllBytes(file);
        return CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem)).stream()
            .map(X509Certificate.class::cast)
            .toList();
    }

    private static PrivateKey privateKey(Path file) throws IOException {
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser parser = new PEMParser(reader)) {
            Object object = parser.readObject();
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            if (object instanceof PEMKeyPair) {
                return converter.getKeyPair((PEMKeyPair) object).getPrivate();
            }
            if (object instanceof PrivateKeyInfo) {
                return converter.getPrivateKey((PrivateKeyInfo) object);
            }
            throw new IOException("found " + (object == null ? "nothing" : object.getClass().getSimpleName()) + " instead of a private key");
        }
    }

    private static boolean matches(PrivateKey key, X509Certificate certificate) {
        try {
            String algorithm = switch (key.getAlgorithm()) {
                case "RSA" -> "SHA256withRSA";
                case "EC", "ECDSA" -> "SHA256withECDSA";
                case "Ed25519", "EdDSA" -> "Ed25519";
                default -> throw new GeneralSecurityException("unsupported key algorithm " + key.getAlgorithm());
            };
            byte[] probe = "postino".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static void generate(Path certificateFile, Path keyFile, String hostname) throws IOException, GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048, new SecureRandom());
        KeyPair pair = generator.generateKeyPair();
        Instant now = Instant.now();
        X500Name subject = new X500Name("CN=" + hostname);
        JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, new BigInteger(64, new SecureRandom()),
            Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(VALIDITY)), subject, pair.getPublic());
        try {
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.dNSName, hostname)));
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            X509Certificate certificate = new JcaX509CertificateConverter()
                .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withRSA").build(pair.getPrivate())));
            Files.createDirectories(certificateFile.getParent());
            writeOwnerOnly(keyFile, pem(pair.getPrivate()));
            Path temporary = certificateFile.resolveSibling(certificateFile.getFileName() + ".new");
            Files.deleteIfExists(temporary);
            Files.createFile(temporary);
            DurableFiles.writeSynced(temporary, pem(certificate), StandardCharsets.US_ASCII);
            DurableFiles.moveSynced(temporary, certificateFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (org.bouncycastle.operator.OperatorCreationException | org.bouncycastle.cert.CertIOException e) {
            throw new GeneralSecurityException("Cannot create the self-signed certificate: " + e.getMessage(), e);
        }
    }

    private static String pem(Object object) throws IOException {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            writer.writeObject(object instanceof PrivateKey
                ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator((PrivateKey) object, null) : object);
        }
        return text.toString();
    }

    private static void writeOwnerOnly(Path file, String content) throws IOException {
        Path temporary = file.resolveSibling(file.getFileName() + ".new");
        Files.deleteIfExists(temporary);
        Files.createFile(temporary);
        try {
            Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: nothing more to restrict
        }
        DurableFiles.writeSynced(temporary, content, StandardCharsets.US_ASCII);
        DurableFiles.moveSynced(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
