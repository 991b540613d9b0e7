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
            if (!Files.isDirectory(settings.confDirectory())) {
                throw new ConfigurationCheck.ConfigurationProblem("Configuration directory " + settings.confDirectory()
                    + " does not exist: POSTINO_CONF_DIR must name the directory of smtpserver.xml, organisations.xml and the"
                    + " other files (default <installation>/conf)");
            }
            ConfigurationCheck.check(settings.confDirectory());
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
        logger.info("Starting Postino: installation {}, configuration {}, data directory {}, smarthost {}", home,
            settings.confDirectory(), settings.dataDirectory(), settings.smarthost().orElse("none (MX lookups)"));

        var server = PostinoServer.create(new Configuration.Basic(
            new Configuration.ConfigurationPath("file://conf/"),
            new PostinoDirectories(home, settings.confDirectory(), settings.dataDirectory())));
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
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stop();
            removePidFile();
        }, "postino-shutdown"));
        String listeners = String.format("SMTP %s:%d, submission %s:%d, SMTPS %s:%d, WebAdmin 127.0.0.1:%d",
            settings.bindAddress(), settings.port(PostinoSettings.Variable.SMTP_PORT),
            settings.bindAddress(), settings.port(PostinoSettings.Variable.SUBMISSION_PORT),
            settings.bindAddress(), settings.port(PostinoSettings.Variable.SMTPS_PORT),
            settings.port(PostinoSettings.Variable.WEBADMIN_PORT))
            + ", autoconfiguration " + (settings.autoconfigPort().isPresent()
                ? "https://" + settings.bindAddress() + ":" + settings.autoconfigPort().getAsInt() : "off");
        logger.info("Postino started: {}", listeners);
        // On the console even when the log is not (bin/postino start): the launcher waits for this line.
        System.out.println("postino: ready (PID " + ProcessHandle.current().pid() + "): " + listeners);
    }

    /**
     * bin/postino writes its PID ({@code postino.pid.file}) before it becomes this JVM; the file
     * goes when the server ends normally, so that one left behind means it did not (a crash, kill -9).
     */
    private static void removePidFile() {
        String file = System.getProperty("postino.pid.file");
        if (file == null || file.isEmpty()) {
            return;
        }
        try {
            Path path = Path.of(file);
            if (Files.isRegularFile(path) && Files.readString(path).trim().equals(String.valueOf(ProcessHandle.current().pid()))) {
                Files.delete(path);
            }
        } catch (java.io.IOException | RuntimeException e) {
            System.err.println("postino: cannot remove the PID file " + file + ": " + e);
        }
    }

    /**
     * The operator token is shown once, on the console only (not in the log file), when it is made.
     * {@code bin/postino start} asks for its file only ({@code -Dpostino.operatorToken.shown=file}):
     * its console is a file in the data directory (and, under systemd, the journal), which would
     * keep the token for ever.
     */
    private static void announce(WebAdminTokens tokens, Logger logger) {
        if (tokens.operatorCreated() && "file".equals(System.getProperty("postino.operatorToken.shown"))) {
            System.out.println("postino: WebAdmin operator token made, kept in " + tokens.operatorFile()
                + " (readable only by this user; not shown here, so that no log keeps it)");
        } else if (tokens.operatorCreated()) {
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
        removePidFile();
        System.exit(status);
    }

    static String help() {
        return String.join(System.lineSeparator(),
            "Usage: postino [run|start|stop|status] [--help]",
            "       postino check-config|config|queue|users|dkim|trace ...  (the same as postinoctl ...)",
            "",
            "  run (or nothing)  run the Postino SMTP relay in the foreground until SIGTERM or Ctrl-C",
            "  start             run it in the background; return once it answers SMTP (POSTINO_START_TIMEOUT, default 120 s)",
            "  stop              send it SIGTERM and wait until it has stopped (POSTINO_STOP_TIMEOUT, default 60 s)",
            "  status            exit 0 if it runs, 1 if it died leaving its PID file, 3 if it is not running",
            "The PID file is <data directory>/postino.pid; with start, the console goes to <data directory>/logs/console.out.",
            "",
            "  check-config, config, queue, users, dkim, trace: run bin/postinoctl with the same arguments",
            "  (validate conf/, show the configuration that differs from the shipped one, manage queues, users and",
            "  DKIM keys of the running server, dry-run a message); postinoctl --help describes them.",
            "",
            "Configuration is read from POSTINO_CONF_DIR (default <installation>/conf, see conf/README.md);",
            "extension jars (your own mailets, matchers and SMTP hooks) from <installation>/extensions-jars.",
            "",
            "Environment variables (override the shipped XML without editing it):",
            PostinoSettings.describeVariables(),
            "JAVA_OPTS is passed to the JVM (default: -Xms64m -Xmx1g -XX:+UseSerialGC).",
            "",
            "Exit status of run: 0 stopped normally, 1 start-up failed, 2 invalid configuration or setting;",
            "of start: the same when the server ends during start-up, 1 when it does not answer in time, 0 once it does;",
            "of stop: 0 stopped (or was not running), 1 still running after the timeout.");
    }
}
