package io.postino.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.apache.james.server.core.configuration.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.server.webadmin.WebAdminTokens;

/**
 * Starts Postino in the foreground: reads the environment, checks the configuration and the
 * ports, then starts the James server and keeps running until it is stopped (SIGTERM, Ctrl-C).
 */
public final class PostinoMain {
    private static final int EXIT_BAD_CONFIGURATION = 2;
    private static final int EXIT_START_FAILED = 1;

    private PostinoMain() {
    }

    public static void main(String[] args) {
        List<String> arguments = Arrays.asList(args);
        if (arguments.contains("--help") || arguments.contains("-h")) {
            System.out.println(help());
            return;
        }
        if (!arguments.isEmpty()) {
            fail(EXIT_BAD_CONFIGURATION, "Unknown argument(s): " + String.join(" ", arguments) + ". Run with --help.");
        }
        // Startup errors must reach our handler below, not end the JVM inside James.
        System.setProperty("james.exit.on.startup.error", "false");
        // No reverse DNS lookup of each client for James' log context (see PostinoTransport.named).
        System.setProperty("james.protocols.mdc.hostname", "false");
        // A TLS client may not renegotiate (a cheap way to make the server do expensive work).
        System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true");
        // JavaMail reads header lines one octet per char; when it writes a changed message it would
        // encode each of those chars as UTF-8, doubling every 8-bit octet (a UTF-8 Subject: became
        // mojibake after DKIM's 7-bit conversion). Written back one octet per char, they round-trip.
        System.setProperty("mail.mime.allowutf8", "false");

        Path home = Path.of(System.getProperty("postino.home", ".")).toAbsolutePath().normalize();
        PostinoSettings settings;
        TlsCertificate.Pem tls;
        WebAdminTokens webAdminTokens;
        try {
            settings = PostinoSettings.from(System.getenv(), home);
            // The files refer to these (${sys:postino.*}): set before the files are checked.
            settings.systemProperties().forEach(System::setProperty);
            ConfigurationCheck.check(home.resolve("conf"));
            ListenerPorts.checkAvailable(settings);
            Files.createDirectories(settings.dataDirectory());
            ownerOnly(settings.dataDirectory());
            tls = TlsCertificate.resolve(settings.dataDirectory(), settings.hostname(), settings.tlsCertificate(), settings.tlsPrivateKey());
            System.setProperty("postino.tls.certificate", "file://" + tls.certificate());
            System.setProperty("postino.tls.privatekey", "file://" + tls.privateKey());
            webAdminTokens = WebAdminTokens.open(settings.dataDirectory().resolve("webadmin"));
        } catch (ConfigurationCheck.ConfigurationProblem | PostinoSettings.InvalidSettingException e) {
            fail(EXIT_BAD_CONFIGURATION, e.getMessage());
            return;
        } catch (Exception e) {
            fail(EXIT_BAD_CONFIGURATION, "Cannot prepare the data directory: " + e);
            return;
        }

        Logger logger = LoggerFactory.getLogger(PostinoMain.class);
        logger.info("Starting Postino: installation {}, data directory {}, smarthost {}", home, settings.dataDirectory(),
            settings.smarthost().orElse("none (MX lookups)"));

        var server = PostinoServer.create(new Configuration.Basic(
            new Configuration.ConfigurationPath("file://conf/"),
            new PostinoDirectories(home, settings.dataDirectory())));
        try {
            server.start();
        } catch (Throwable e) {
            logger.error("Postino could not start", e);
            fail(EXIT_START_FAILED, "Postino could not start: " + StartupFailure.describe(e));
            return;
        }
        if (tls.generated()) {
            logger.warn("Generated a self-signed TLS certificate for {} in {}. Clients will not trust it: give your own "
                + "with POSTINO_TLS_CERTIFICATE and POSTINO_TLS_PRIVATE_KEY (e.g. certbot's fullchain.pem and privkey.pem).",
                settings.hostname(), tls.certificate());
        }
        announce(webAdminTokens, logger);
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "postino-shutdown"));
        logger.info("Postino started: SMTP {}:{}, submission {}:{}, SMTPS {}:{}, WebAdmin 127.0.0.1:{}, autoconfiguration {}",
            settings.bindAddress(), settings.port(PostinoSettings.Variable.SMTP_PORT),
            settings.bindAddress(), settings.port(PostinoSettings.Variable.SUBMISSION_PORT),
            settings.bindAddress(), settings.port(PostinoSettings.Variable.SMTPS_PORT),
            settings.port(PostinoSettings.Variable.WEBADMIN_PORT),
            settings.autoconfigPort().isPresent() ? "https://" + settings.bindAddress() + ":" + settings.autoconfigPort().getAsInt() : "off");
    }

    /** The operator token is shown once, on the console only (not in the log file), when it is made. */
    private static void announce(WebAdminTokens tokens, Logger logger) {
        if (tokens.operatorCreated()) {
            try {
                System.out.println("postino: WebAdmin operator token (shown this once; kept in " + tokens.operatorFile()
                    + ", readable only by this user): " + tokens.operatorToken());
            } catch (java.io.IOException e) {
                logger.warn("Cannot read back the operator token in {}: {}", tokens.operatorFile(), e.toString());
            }
        } else {
            logger.info("WebAdmin needs a token: the operator's is in {}", tokens.operatorFile());
        }
    }

    /** The data directory holds mail, keys and tokens: readable by Postino's user only. */
    private static void ownerOnly(Path directory) throws java.io.IOException {
        try {
            Files.setPosixFilePermissions(directory, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system
        }
    }

    private static void fail(int status, String message) {
        System.err.println("postino: " + message);
        System.exit(status);
    }

    static String help() {
        return String.join(System.lineSeparator(),
            "Usage: postino [--help]",
            "",
            "Runs the Postino SMTP relay in the foreground until it receives SIGTERM or Ctrl-C.",
            "Configuration is read from <installation>/conf (see conf/README.md); extension jars",
            "(your own mailets, matchers and SMTP hooks) from <installation>/extensions-jars.",
            "",
            "Environment variables (override the shipped XML without editing it):",
            PostinoSettings.describeVariables(),
            "JAVA_OPTS is passed to the JVM (default: -Xms64m -Xmx1g -XX:+UseSerialGC).",
            "",
            "Exit status: 0 stopped normally, 1 start-up failed, 2 invalid configuration or setting.");
    }
}
