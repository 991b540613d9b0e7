package io.postino.server;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The settings an operator can give without editing XML: environment variables read once at
 * start-up and handed to the XML files as {@code ${sys:postino.*}} system properties.
 */
public final class PostinoSettings {
    private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");

    /** An environment variable Postino reads, its system property and its default. */
    enum Variable {
        SMTP_PORT("POSTINO_SMTP_PORT", "postino.smtp.port", "25", "port of the MX/relay listener"),
        SUBMISSION_PORT("POSTINO_SUBMISSION_PORT", "postino.submission.port", "587", "port of the submission listener (STARTTLS + AUTH)"),
        SMTPS_PORT("POSTINO_SMTPS_PORT", "postino.smtps.port", "465", "port of the implicit-TLS submission listener"),
        WEBADMIN_PORT("POSTINO_WEBADMIN_PORT", "postino.webadmin.port", "8000", "port of WebAdmin (always on 127.0.0.1)"),
        AUTOCONFIG_PORT("POSTINO_AUTOCONFIG_PORT", "postino.autoconfig.port", "443",
            "HTTPS port of the mail client autoconfiguration (Thunderbird, Outlook, Apple), on POSTINO_BIND; off: none"),
        BIND("POSTINO_BIND", "postino.bind", "0.0.0.0", "address the SMTP listeners bind to"),
        DATA_DIR("POSTINO_DATA_DIR", "postino.data.dir", "<installation>/var", "directory holding the queue, database, generated TLS certificate and repositories"),
        CONF_DIR("POSTINO_CONF_DIR", "postino.conf.dir", "<installation>/conf", "configuration directory (organisations.xml, smtpserver.xml, logback.xml, ...)"),
        SMARTHOST("POSTINO_SMARTHOST", "postino.smarthost", "", "host:port to deliver all mail to instead of MX lookups (empty: MX)"),
        RECIPIENT_DNS_CHECK("POSTINO_RECIPIENT_DNS_CHECK", "postino.recipient.dns.check", "true",
            "false: accept outbound recipients without looking up their domain at RCPT TO (dns.check of recipients.properties), e.g. on a machine without DNS"),
        DNS_SERVERS("POSTINO_DNS_SERVERS", "postino.dns.servers", "", "DNS servers for recipient checks, host or host:port, comma-separated (empty: /etc/resolv.conf)"),
        HOSTNAME("POSTINO_HOSTNAME", "postino.hostname", "<this machine's host name>", "name in the SMTP greeting, HELO to other servers and Message-IDs"),
        TLS_CERTIFICATE("POSTINO_TLS_CERTIFICATE", "postino.tls.certificate", "",
            "PEM certificate chain of the listeners, e.g. certbot's fullchain.pem (empty: a self-signed one for POSTINO_HOSTNAME, generated under the data directory)"),
        TLS_PRIVATE_KEY("POSTINO_TLS_PRIVATE_KEY", "postino.tls.privatekey", "", "PEM private key of that certificate, e.g. certbot's privkey.pem");

        final String environment;
        final String property;
        final String defaultValue;
        final String meaning;

        Variable(String environment, String property, String defaultValue, String meaning) {
            this.environment = environment;
            this.property = property;
            this.defaultValue = defaultValue;
            this.meaning = meaning;
        }
    }

    /** A setting that cannot be used, with a sentence that says why. */
    public static final class InvalidSettingException extends Exception {
        InvalidSettingException(String message) {
            super(message);
        }
    }

    /** The value of POSTINO_AUTOCONFIG_PORT that opens no autoconfiguration listener. */
    public static final String AUTOCONFIG_OFF = "off";

    private final Path home;
    private final Map<Variable, String> values;

    private PostinoSettings(Path home, Map<Variable, String> values) {
        this.home = home;
        this.values = values;
    }

    public static PostinoSettings from(Map<String, String> environment, Path home) throws InvalidSettingException {
        Map<Variable, String> values = new LinkedHashMap<>();
        for (Variable variable : Variable.values()) {
            String value = Optional.ofNullable(environment.get(variable.environment))
                .map(String::trim)
                .orElseGet(() -> defaultValue(variable, home));
            values.put(variable, value);
        }
        for (Variable port : new Variable[]{Variable.SMTP_PORT, Variable.SUBMISSION_PORT, Variable.SMTPS_PORT, Variable.WEBADMIN_PORT}) {
            values.put(port, String.valueOf(parsePort(port.environment, values.get(port))));
        }
        if (!values.get(Variable.AUTOCONFIG_PORT).equalsIgnoreCase(AUTOCONFIG_OFF)) {
            values.put(Variable.AUTOCONFIG_PORT, String.valueOf(parsePort(Variable.AUTOCONFIG_PORT.environment + " (or 'off')",
                values.get(Variable.AUTOCONFIG_PORT))));
        } else {
            values.put(Variable.AUTOCONFIG_PORT, AUTOCONFIG_OFF);
        }
        if (values.get(Variable.BIND).isEmpty() || values.get(Variable.BIND).contains(":")) {
            throw new InvalidSettingException("POSTINO_BIND must be one IPv4 address or host name (e.g. 0.0.0.0 or 127.0.0.1), got '"
                + values.get(Variable.BIND) + "'");
        }
        if (!HOST_NAME.matcher(values.get(Variable.HOSTNAME)).matches()) {
            throw new InvalidSettingException("POSTINO_HOSTNAME must be a host name such as relay.example.com, got '"
                + values.get(Variable.HOSTNAME) + "'");
        }
        String dnsCheck = values.get(Variable.RECIPIENT_DNS_CHECK);
        if (!dnsCheck.equals("true") && !dnsCheck.equals("false")) {
            throw new InvalidSettingException("POSTINO_RECIPIENT_DNS_CHECK must be true or false, got '" + dnsCheck + "'");
        }
        values.put(Variable.DATA_DIR, home.resolve(values.get(Variable.DATA_DIR)).toAbsolutePath().normalize().toString());
        values.put(Variable.CONF_DIR, home.resolve(values.get(Variable.CONF_DIR)).toAbsolutePath().normalize().toString());
        values.put(Variable.SMARTHOST, normaliseSmarthost(values.get(Variable.SMARTHOST)));
        return new PostinoSettings(home.toAbsolutePath().normalize(), values);
    }

    private static String defaultValue(Variable variable, Path home) {
        switch (variable) {
            case DATA_DIR:
                return home.resolve("var").toString();
            case CONF_DIR:
                return home.resolve("conf").toString();
            case HOSTNAME:
                try {
                    return InetAddress.getLocalHost().getHostName();
                } catch (UnknownHostException e) {
                    return "localhost";
                }
            default:
                return variable.defaultValue;
        }
    }

    private static int parsePort(String name, String value) throws InvalidSettingException {
        try {
            int port = Integer.parseInt(value);
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new InvalidSettingException(name + " must be a port number from 1 to 65535, got '" + value + "'");
    }

    private static String normaliseSmarthost(String value) throws InvalidSettingException {
        if (value.isEmpty()) {
            return "";
        }
        int colon = value.lastIndexOf(':');
        String host = colon < 0 ? value : value.substring(0, colon);
        String port = colon < 0 ? "25" : value.substring(colon + 1);
        if (host.isEmpty() || host.contains(",") || host.contains(" ")) {
            throw new InvalidSettingException("POSTINO_SMARTHOST must be host:port (e.g. smtp.example.com:587), got '" + value + "'");
        }
        return host + ":" + parsePort("The port of POSTINO_SMARTHOST", port);
    }

    public Path home() {
        return home;
    }

    public Path dataDirectory() {
        return Path.of(values.get(Variable.DATA_DIR));
    }

    public Path confDirectory() {
        return Path.of(values.get(Variable.CONF_DIR));
    }

    public String bindAddress() {
        return values.get(Variable.BIND);
    }

    public int port(Variable variable) {
        return Integer.parseInt(values.get(variable));
    }

    /** The autoconfiguration listener's port, or empty when POSTINO_AUTOCONFIG_PORT is off. */
    public java.util.OptionalInt autoconfigPort() {
        String value = values.get(Variable.AUTOCONFIG_PORT);
        return value.equals(AUTOCONFIG_OFF) ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(Integer.parseInt(value));
    }

    public String hostname() {
        return values.get(Variable.HOSTNAME);
    }

    public String tlsCertificate() {
        return values.get(Variable.TLS_CERTIFICATE);
    }

    public String tlsPrivateKey() {
        return values.get(Variable.TLS_PRIVATE_KEY);
    }

    public Optional<String> smarthost() {
        return Optional.of(values.get(Variable.SMARTHOST)).filter(s -> !s.isEmpty());
    }

    /** The system properties that the shipped XML files read as {@code ${sys:...}}. */
    public Map<String, String> systemProperties() {
        Map<String, String> properties = new LinkedHashMap<>();
        values.forEach((variable, value) -> properties.put(variable.property, value));
        properties.put("postino.home", home.toString());
        return properties;
    }

    /** One setting as {@code postinoctl config} shows it. */
    public record Setting(String name, String value, String defaultValue, boolean fromEnvironment, String meaning) {
    }

    /** Every setting in force, in the order of {@link Variable}, saying which {@code environment} gave. */
    public List<Setting> settings(Map<String, String> environment) {
        List<Setting> settings = new ArrayList<>();
        for (Variable variable : Variable.values()) {
            settings.add(new Setting(variable.environment, values.get(variable), variable.defaultValue,
                environment.containsKey(variable.environment), variable.meaning));
        }
        return settings;
    }

    static String describeVariables() {
        StringBuilder text = new StringBuilder();
        for (Variable variable : Variable.values()) {
            text.append(String.format("  %-24s %s (default: %s)%n", variable.environment, variable.meaning,
                variable.defaultValue.isEmpty() ? "none" : variable.defaultValue));
        }
        return text.toString();
    }
}
