package io.postino.server;


import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;

import org.apache.commons.configuration2.builder.fluent.Configurations;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.ErrorHandler;
import org.xml.sax.SAXParseException;

import io.postino.config.ConfigFileException;
import io.postino.organisations.OrganisationsException;
import io.postino.organisations.OrganisationsFile;
import io.postino.server.events.EventSinksFile;
import io.postino.server.modules.EventsModule;
import io.postino.server.ratelimit.RateLimitSettings;
import io.postino.server.recipients.RecipientSettings;
import io.postino.server.smtp.RequireFreeSpace;
import io.postino.server.smtp.listener.ConnectionLimits;

/**
 * Checks the configuration directory before James reads it, so that a broken file stops
 * start-up with the file, the line and what is wrong instead of a stack trace, a silent
 * default or a server without a listener. Public for {@code postinoctl check-config}, which runs
 * the same checks without starting the server.
 */
public final class ConfigurationCheck {
    static final List<String> REQUIRED_FILES = List.of(
        "smtpserver.xml", "mailetcontainer.xml", "domainlist.xml", "dnsservice.xml",
        "usersrepository.xml", "recipientrewritetable.xml", "webadmin.properties", "james-database.properties",
        "organisations.xml");

    /** What is wrong with the configuration, worded for the operator. */
    public static final class ConfigurationProblem extends Exception {
        ConfigurationProblem(String message) {
            super(message);
        }
    }

    private ConfigurationCheck() {
    }

    static void check(Path confDirectory) throws ConfigurationProblem {
        List<String> problems = problems(confDirectory);
        if (!problems.isEmpty()) {
            throw new ConfigurationProblem(String.join(System.lineSeparator(), problems));
        }
    }

    /**
     * Every problem found, one sentence each, starting with {@code file:line:} where the line is
     * known ({@code file:} otherwise); empty when the directory can be used.
     */
    public static List<String> problems(Path confDirectory) {
        List<String> problems = new ArrayList<>();
        if (!Files.isDirectory(confDirectory)) {
            problems.add("Configuration directory " + confDirectory + " does not exist");
            return problems;
        }
        for (String name : REQUIRED_FILES) {
            if (!Files.isRegularFile(confDirectory.resolve(name))) {
                problems.add(confDirectory.resolve(name) + ": required file is missing (copy it from the distribution's conf/)");
            }
        }
        try (Stream<Path> files = Files.list(confDirectory)) {
            files.filter(file -> file.getFileName().toString().endsWith(".xml"))
                .sorted()
                .forEach(file -> parse(file, problems));
        } catch (IOException e) {
            problems.add(confDirectory + ": cannot be read: " + e.getMessage());
        }
        if (problems.isEmpty()) {
            checkSmtpListeners(confDirectory.resolve("smtpserver.xml"), problems);
            checkOrganisations(confDirectory.resolve("organisations.xml"), problems);
            checkRateLimits(confDirectory.resolve(RateLimitSettings.FILE), problems);
            checkRecipients(confDirectory.resolve(RecipientSettings.FILE), problems);
            checkEventSinks(confDirectory.resolve(EventsModule.EVENT_SINKS), problems);
            checkWebAdmin(confDirectory.resolve("webadmin.properties"), problems);
            checkProcessConnectionLimit(problems);
        }
        return problems;
    }

    private static Document parse(Path file, List<String> problems) {
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            DocumentBuilder builder = factory.newDocumentBuilder();
            builder.setErrorHandler(new ErrorHandler() {
                @Override
                public void warning(SAXParseException exception) {
                }

                @Override
                public void error(SAXParseException exception) throws SAXParseException {
                    throw exception;
                }

                @Override
                public void fatalError(SAXParseException exception) throws SAXParseException {
                    throw exception;
                }
            });
            return builder.parse(file.toFile());
        } catch (SAXParseException e) {
            problems.add(file + ":" + e.getLineNumber() + ":" + e.getColumnNumber() + ": malformed XML: " + e.getMessage());
        } catch (Exception e) {
            problems.add(file + ": cannot be read: " + e.getMessage());
        }
        return null;
    }

    private static void checkOrganisations(Path file, List<String> problems) {
        try {
            OrganisationsFile.read(file);
        } catch (OrganisationsException e) {
            problems.add(e.getMessage());
        }
    }

    private static void checkRateLimits(Path file, List<String> problems) {
        if (!Files.exists(file)) {
            return;
        }
        try {
            RateLimitSettings.from(new Configurations().properties(file.toFile()));
        } catch (ConfigurationException e) {
            problems.add(file + ": cannot be read: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            problems.add(file + ": " + e.getMessage());
        }
    }

    private static void checkRecipients(Path file, List<String> problems) {
        if (!Files.exists(file)) {
            return;
        }
        try {
            RecipientSettings.from(new Configurations().properties(file.toFile()));
        } catch (ConfigurationException e) {
            problems.add(file + ": cannot be read: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            problems.add(file + ": " + e.getMessage());
        }
    }

    private static void checkEventSinks(Path file, List<String> problems) {
        if (!Files.exists(file)) {
            return;
        }
        try {
            EventSinksFile.read(file, Path::of);
        } catch (ConfigFileException e) {
            problems.add(e.getMessage());
        }
    }

    /**
     * WebAdmin carries the operator's token: beyond this machine it must be HTTPS, or the token
     * crosses the network in clear.
     */
    private static void checkWebAdmin(Path file, List<String> problems) {
        try {
            org.apache.commons.configuration2.PropertiesConfiguration properties = new Configurations().properties(file.toFile());
            if (!properties.getBoolean("enabled", false)) {
                return;
            }
            String host = properties.getString("host", "localhost").trim();
            boolean https = properties.getBoolean("https.enabled", false);
            if (!https && !isLoopback(host)) {
                problems.add(file + ": host=" + host + " would expose WebAdmin beyond this machine without TLS: set https.enabled=true "
                    + "with https.keystore and https.password, or bind to 127.0.0.1");
            }
            io.postino.server.webadmin.WebAdminOrigins.parse(properties.getString("postino.allowedOrigins", ""), host);
        } catch (ConfigurationException e) {
            problems.add(file + ": cannot be read: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            problems.add(file + ": " + e.getMessage());
        }
    }

    private static boolean isLoopback(String host) {
        if (host.equals("localhost") || host.equals("::1") || host.equals("[::1]")) {
            return true;
        }
        try {
            return host.matches("[0-9.]+|[0-9a-fA-F:]+") && java.net.InetAddress.getByName(host).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /** Values with {@code ${...}} are only known once James reads the file: the listener checks them then. */
    private static boolean literal(String value) {
        return !value.contains("${");
    }

    private static void checkConnectionLimits(Element server, String where, List<String> problems) {
        for (String element : List.of("connectionLimit", "connectionLimitPerIP")) {
            NodeList values = server.getElementsByTagName(element);
            for (int i = 0; i < values.getLength(); i++) {
                String value = values.item(i).getTextContent();
                if (literal(value)) {
                    try {
                        ConnectionLimits.listenerLimit(element, value);
                    } catch (IllegalArgumentException e) {
                        problems.add(where + ": " + e.getMessage());
                    }
                }
            }
        }
    }

    private static void checkFreeSpace(Element server, String where, List<String> problems) {
        NodeList handlers = server.getElementsByTagName("handler");
        for (int i = 0; i < handlers.getLength(); i++) {
            Element handler = (Element) handlers.item(i);
            if (!RequireFreeSpace.class.getName().equals(handler.getAttribute("class").trim())) {
                continue;
            }
            NodeList values = handler.getElementsByTagName("minFree");
            for (int j = 0; j < values.getLength(); j++) {
                String value = values.item(j).getTextContent();
                if (literal(value)) {
                    try {
                        RequireFreeSpace.parseMinFree(value);
                    } catch (IllegalArgumentException e) {
                        problems.add(where + ": <handler class=\"" + RequireFreeSpace.class.getName() + "\">: " + e.getMessage());
                    }
                }
            }
        }
    }

    private static void checkProcessConnectionLimit(List<String> problems) {
        try {
            ConnectionLimits.processLimit(System.getProperty(ConnectionLimits.PROCESS_PROPERTY));
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
    }

    private static void checkSmtpListeners(Path smtpserver, List<String> problems) {
        Document document = parse(smtpserver, problems);
        if (document == null) {
            return;
        }
        NodeList servers = document.getDocumentElement().getElementsByTagName("smtpserver");
        int enabled = 0;
        for (int i = 0; i < servers.getLength(); i++) {
            Element server = (Element) servers.item(i);
            if (!"false".equalsIgnoreCase(server.getAttribute("enabled"))) {
                enabled++;
                String where = smtpserver + ": <smtpserver> number " + (i + 1);
                if (server.getElementsByTagName("bind").getLength() == 0) {
                    problems.add(where + " has no <bind> element (address:port to listen on)");
                }
                checkConnectionLimits(server, where, problems);
                checkFreeSpace(server, where, problems);
            }
        }
        if (enabled == 0) {
            problems.add(smtpserver + ": no enabled <smtpserver> element: Postino would accept no mail");
        }
        NodeList handlers = document.getDocumentElement().getElementsByTagName("handler");
        for (int i = 0; i < handlers.getLength(); i++) {
            String handler = ((Element) handlers.item(i)).getAttribute("class").trim();
            if (handler.endsWith(".fastfail.MaxUnknownCmdHandler")) {
                problems.add(smtpserver + ": " + handler + " answers 521 without an enhanced status code and counts per transaction: "
                    + "replace it with io.postino.server.smtp.LimitUnknownCommands (same <maxUnknownCmdCount>)");
            }
        }
    }
}
