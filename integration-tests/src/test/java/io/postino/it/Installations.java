package io.postino.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** A private copy of the packaged installation (lib/ linked, the rest copied) that a test may change. */
final class Installations {
    private Installations() {
    }

    /** One organisation owning acme.test, the sender domain of the relay tests. */
    static final String ACME_ONLY = "<organisations><organisation id=\"acme\" name=\"Acme\"><domain>acme.test</domain>"
        + "</organisation></organisations>";

    /** A copy whose conf/organisations.xml is the given document. */
    static Path copyWithOrganisations(Path target, String organisationsXml) throws IOException {
        Path installation = copyOfDistribution(target);
        Files.writeString(installation.resolve("conf/organisations.xml"), organisationsXml, StandardCharsets.UTF_8);
        return installation;
    }

    static Path copyOfDistribution(Path target) throws IOException {
        Path distribution = PostinoProcess.distribution();
        Files.createDirectories(target);
        Files.createSymbolicLink(target.resolve("lib"), distribution.resolve("lib"));
        for (String directory : new String[]{"bin", "conf", "extensions-jars"}) {
            copyDirectory(distribution.resolve(directory), target.resolve(directory));
        }
        target.resolve("bin/postino").toFile().setExecutable(true);
        return target;
    }

    /** A copy of the installation's conf/ elsewhere, for POSTINO_CONF_DIR. */
    static Path copyOfConfiguration(Path installation, Path target) throws IOException {
        copyDirectory(installation.resolve("conf"), target);
        return target;
    }

    static void replaceInFile(Path file, String from, String to) throws IOException {
        String content = Files.readString(file, StandardCharsets.UTF_8);
        if (!content.contains(from)) {
            throw new IllegalStateException(file + " does not contain " + from);
        }
        Files.writeString(file, content.replace(from, to), StandardCharsets.UTF_8);
    }

    private static void copyDirectory(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                Path destination = to.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(destination);
                } else {
                    Files.copy(path, destination);
                }
            }
        }
    }
}
