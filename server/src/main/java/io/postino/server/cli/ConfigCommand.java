package io.postino.server.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;

import org.w3c.dom.Element;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.postino.server.PostinoSettings;

/**
 * {@code postinoctl config}: the configuration an installation runs with, like Postfix's
 * {@code postconf -n}: the POSTINO_* settings taken from the environment, and every value of
 * conf/ that differs from the conf/ Postino ships (a copy of which is inside the server's jar,
 * {@code io/postino/server/cli/shipped-conf/}, so that an edited conf/ is still compared with
 * the original). Offline: reads files, asks no server. The schemas ({@code .xsd}) and
 * README.md are left out: they are not configuration.
 *
 * <p>An XML value is named by its path from the root element: a repeated element is told apart by
 * the first of {@code id}, {@code name}, {@code jmxName}, {@code class} that all its same-named
 * siblings carry with different values, as an attribute ({@code handler[@class=...]}) or a child
 * element ({@code smtpserver[jmxName=smtpserver-relay]}), else by its position ({@code [2]}); an
 * attribute is {@code /@name}. A properties value is named by its key.</p>
 *
 * <p>Secrets are masked as {@value #MASK} unless {@code --show-secrets}: the whole value of an
 * attribute, element or properties key whose name ends (case-insensitive) with {@code secret},
 * {@code password}, {@code passwd}, {@code pass}, {@code passphrase}, {@code token} or
 * {@code key} ({@code @secret}, {@code privateKey}, {@code redis.password}); and in any value,
 * of an {@code http(s)://} URL the user information, the path (Slack-style webhooks keep
 * their secret there) and every query value: {@code https://***@hooks.example/***?code=***}.
 * A value that is only a {@code ${...}} placeholder names no secret and is shown. Whether a value
 * changed is decided on the real values.</p>
 */
final class ConfigCommand {
    static final String SHIPPED = "io/postino/server/cli/shipped-conf/";
    private static final List<String> IDENTIFYING = List.of("id", "name", "jmxName", "class");
    static final String MASK = "***";
    private static final List<String> SECRET_NAMES = List.of("secret", "password", "passwd", "pass", "passphrase", "token", "key");
    private static final Pattern URL = Pattern.compile("(?i)(https?://)([^\\s\"'<>/?#@]*@)?([^\\s\"'<>/?#]*)(/[^\\s\"'<>?#]*)?(\\?[^\\s\"'<>#]*)?(#[^\\s\"'<>]*)?");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{[^}]*\\}");

    private final PostinoCli cli;
    private final Arguments arguments;
    private final Map<String, String> environment;
    private final Path home;
    private final Path workingDirectory;

    ConfigCommand(PostinoCli cli, Arguments arguments, Map<String, String> environment, Path home, Path workingDirectory) {
        this.cli = cli;
        this.arguments = arguments;
        this.environment = environment;
        this.home = home;
        this.workingDirectory = workingDirectory;
    }

    /** One value of a file: what conf/ says and what the shipped file says (empty: absent there). */
    record Value(String file, String path, Optional<String> value, Optional<String> shipped) {
        String status() {
            if (value.isEmpty()) {
                return "removed";
            }
            if (shipped.isEmpty()) {
                return "added";
            }
            return value.equals(shipped) ? "same" : "changed";
        }
    }

    int run() throws Arguments.UsageException, WebAdminClient.RequestFailed {
        if (cli.helpShown(arguments, "config")) {
            return PostinoCli.OK;
        }
        arguments.allowOnly("config", Set.of("conf", "all", "json", "show-secrets", "help"));
        arguments.operands("config", 1);
        PostinoSettings settings;
        try {
            settings = PostinoSettings.from(environment, home);
        } catch (PostinoSettings.InvalidSettingException e) {
            throw new WebAdminClient.RequestFailed(0, "environment: " + e.getMessage() + " (postinoctl check-config says more)");
        }
        // As bin/postino reads it: a relative POSTINO_CONF_DIR is the caller's directory.
        Path conf = arguments.option("conf").or(() -> Optional.ofNullable(environment.get("POSTINO_CONF_DIR")))
            .map(workingDirectory::resolve).orElse(settings.confDirectory()).normalize();
        List<Value> values = compare(conf);
        boolean all = arguments.flag("all");
        List<PostinoSettings.Setting> shown = settings.settings(environment).stream()
            .filter(setting -> all || setting.fromEnvironment()).toList();
        boolean showSecrets = arguments.flag("show-secrets");
        List<Value> listed = values.stream().filter(value -> all || !value.status().equals("same")).toList();
        if (arguments.flag("json")) {
            ObjectNode result = PostinoCli.object();
            result.put("directory", conf.toString());
            ArrayNode list = result.putArray("settings");
            for (PostinoSettings.Setting setting : shown) {
                ObjectNode item = list.addObject();
                item.put("name", setting.name());
                item.put("value", setting.value());
                item.put("default", setting.defaultValue());
                item.put("source", setting.fromEnvironment() ? "environment" : "default");
            }
            ArrayNode files = result.putArray("values");
            for (Value value : listed) {
                Value shownValue = showSecrets ? value : masked(value);
                ObjectNode item = files.addObject();
                item.put("file", value.file());
                item.put("path", value.path());
                item.put("value", shownValue.value().orElse(null));
                item.put("shipped", shownValue.shipped().orElse(null));
                item.put("status", value.status());
            }
            cli.json(result);
            return PostinoCli.OK;
        }
        for (PostinoSettings.Setting setting : shown) {
            cli.out().println("env: " + setting.name() + " = " + setting.value()
                + (all ? "  (" + (setting.fromEnvironment() ? "environment" : "default") + ")" : ""));
        }
        for (Value value : listed.stream().map(one -> showSecrets ? one : masked(one)).toList()) {
            if (value.path().isEmpty()) {
                cli.out().println(value.file() + ": (not shipped)");
            } else if (value.value().isEmpty()) {
                cli.out().println(value.file() + ": " + value.path() + " (removed; shipped: " + oneLine(value.shipped().get()) + ")");
            } else {
                cli.out().println(value.file() + ": " + value.path() + " = " + oneLine(value.value().get()));
            }
        }
        return PostinoCli.OK;
    }

    /** The value as {@code postinoctl config} shows it without {@code --show-secrets}; its status stays that of the real value. */
    static Value masked(Value value) {
        return new Value(value.file(), value.path(), value.value().map(text -> masked(value.path(), text)),
            value.shipped().map(text -> masked(value.path(), text)));
    }

    static String masked(String path, String text) {
        if (text.isEmpty() || PLACEHOLDER.matcher(text.strip()).matches()) {
            return text;
        }
        String name = path.substring(path.lastIndexOf('/') + 1).replaceFirst("^@", "").replaceFirst("\\[.*$", "");
        String[] words = name.split("[._-]|(?<=[a-z0-9])(?=[A-Z])");
        String last = words.length == 0 ? "" : words[words.length - 1].toLowerCase(java.util.Locale.ROOT);
        if (SECRET_NAMES.stream().anyMatch(last::endsWith)) {
            return MASK;
        }
        Matcher url = URL.matcher(text);
        StringBuilder shown = new StringBuilder();
        while (url.find()) {
            String pathPart = url.group(4) == null || url.group(4).equals("/") ? Optional.ofNullable(url.group(4)).orElse("") : "/" + MASK;
            String query = url.group(5) == null ? "" : "?" + String.join("&", java.util.Arrays.stream(url.group(5).substring(1).split("&", -1))
                .map(pair -> pair.contains("=") ? pair.substring(0, pair.indexOf('=') + 1) + MASK : MASK).toList());
            url.appendReplacement(shown, Matcher.quoteReplacement(url.group(1) + (url.group(2) == null ? "" : MASK + "@") + url.group(3)
                + pathPart + query + (url.group(6) == null ? "" : "#" + MASK)));
        }
        url.appendTail(shown);
        return shown.toString();
    }

    private static String oneLine(String text) {
        return text.replaceAll("\\s*\\R\\s*", " ");
    }

    /** Every value of every file of {@code conf} and of the shipped conf, file by file, sorted by file name. */
    List<Value> compare(Path conf) throws WebAdminClient.RequestFailed {
        Map<String, Map<String, String>> shipped = new TreeMap<>();
        for (String name : shippedFiles().stream().filter(ConfigCommand::isConfiguration).toList()) {
            try (InputStream in = ConfigCommand.class.getClassLoader().getResourceAsStream(SHIPPED + name)) {
                shipped.put(name, values(name, in.readAllBytes()));
            } catch (IOException | RuntimeException e) {
                throw new WebAdminClient.RequestFailed(0, "cannot read the shipped " + name + ": " + e.getMessage());
            }
        }
        Map<String, Map<String, String>> effective = new TreeMap<>();
        try (Stream<Path> files = Files.list(conf)) {
            for (Path file : (Iterable<Path>) files.sorted()::iterator) {
                String name = file.getFileName().toString();
                if (Files.isRegularFile(file) && isConfiguration(name)) {
                    try {
                        effective.put(name, values(name, Files.readAllBytes(file)));
                    } catch (IOException | RuntimeException e) {
                        throw new WebAdminClient.RequestFailed(0, file + ": cannot be read (" + e.getMessage() + "; postinoctl check-config says more)");
                    }
                }
            }
        } catch (IOException e) {
            throw new WebAdminClient.RequestFailed(0, conf + ": cannot list it (" + e.getMessage() + ")");
        }
        List<Value> values = new ArrayList<>();
        Set<String> names = new TreeSet<>(shipped.keySet());
        names.addAll(effective.keySet());
        for (String name : names) {
            Map<String, String> ours = effective.getOrDefault(name, Map.of());
            Optional<Map<String, String>> theirs = Optional.ofNullable(shipped.get(name));
            if (theirs.isEmpty()) {
                values.add(new Value(name, "", Optional.of(""), Optional.empty()));
            }
            ours.forEach((path, value) -> values.add(new Value(name, path, Optional.of(value),
                theirs.map(map -> map.get(path)))));
            theirs.ifPresent(map -> map.forEach((path, value) -> {
                if (!ours.containsKey(path)) {
                    values.add(new Value(name, path, Optional.empty(), Optional.of(value)));
                }
            }));
        }
        return values;
    }

    /** The documentation and the schemas in conf/ are not configuration. */
    private static boolean isConfiguration(String name) {
        return !name.equals("README.md") && !name.endsWith(".xsd");
    }

    /** The names of the shipped conf files, from the jar (or the classes directory) that holds this class. */
    private static Set<String> shippedFiles() throws WebAdminClient.RequestFailed {
        Set<String> names = new TreeSet<>();
        try {
            Path source = Path.of(ConfigCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isDirectory(source)) {
                try (Stream<Path> files = Files.list(source.resolve(SHIPPED))) {
                    files.filter(Files::isRegularFile).forEach(file -> names.add(file.getFileName().toString()));
                }
            } else {
                try (JarFile jar = new JarFile(source.toFile())) {
                    Enumeration<JarEntry> entries = jar.entries();
                    while (entries.hasMoreElements()) {
                        String entry = entries.nextElement().getName();
                        if (entry.startsWith(SHIPPED) && entry.length() > SHIPPED.length() && !entry.endsWith("/")) {
                            names.add(entry.substring(SHIPPED.length()));
                        }
                    }
                }
            }
        } catch (IOException | URISyntaxException | RuntimeException e) {
            throw new WebAdminClient.RequestFailed(0, "cannot find the shipped conf/ in Postino's jar: " + e);
        }
        return names;
    }

    /** A file's values by path: XML elements and attributes, properties keys, else the whole text. */
    static Map<String, String> values(String name, byte[] content) throws IOException {
        Map<String, String> values = new LinkedHashMap<>();
        if (name.endsWith(".xml")) {
            Element root;
            try {
                DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
                factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
                factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
                factory.setNamespaceAware(false);
                DocumentBuilder builder = factory.newDocumentBuilder();
                builder.setErrorHandler(new org.xml.sax.helpers.DefaultHandler() {
                    @Override
                    public void fatalError(org.xml.sax.SAXParseException e) throws org.xml.sax.SAXException {
                        throw e;
                    }
                });
                root = builder.parse(new java.io.ByteArrayInputStream(content)).getDocumentElement();
            } catch (Exception e) {
                throw new IOException("not well-formed XML: " + e.getMessage(), e);
            }
            flatten(root, root.getTagName(), values);
        } else if (name.endsWith(".properties")) {
            Properties properties = new Properties();
            properties.load(new InputStreamReader(new java.io.ByteArrayInputStream(content), StandardCharsets.ISO_8859_1));
            new TreeSet<>(properties.stringPropertyNames()).forEach(key -> values.put(key, properties.getProperty(key).trim()));
        } else {
            values.put("(content)", new String(content, StandardCharsets.UTF_8).strip());
        }
        return values;
    }

    private static void flatten(Element element, String path, Map<String, String> values) {
        NamedNodeMap attributes = element.getAttributes();
        Set<String> names = new TreeSet<>();
        for (int i = 0; i < attributes.getLength(); i++) {
            names.add(attributes.item(i).getNodeName());
        }
        names.forEach(attribute -> values.put(path + "/@" + attribute, element.getAttribute(attribute).trim()));
        List<Element> children = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        for (Node child = element.getFirstChild(); child != null; child = child.getNextSibling()) {
            if (child instanceof Element) {
                children.add((Element) child);
            } else if (child.getNodeType() == Node.TEXT_NODE || child.getNodeType() == Node.CDATA_SECTION_NODE) {
                text.append(child.getNodeValue());
            }
        }
        if (children.isEmpty() && (names.isEmpty() || !text.toString().isBlank())) {
            values.put(path, text.toString().trim());
        }
        Map<String, List<Element>> byName = new LinkedHashMap<>();
        children.forEach(child -> byName.computeIfAbsent(child.getTagName(), any -> new ArrayList<>()).add(child));
        for (Element child : children) {
            List<Element> same = byName.get(child.getTagName());
            flatten(child, path + "/" + child.getTagName() + qualifier(child, same), values);
        }
    }

    /** The text of the one child element {@code name} of {@code element}, if it has exactly one. */
    private static Optional<String> child(Element element, String name) {
        Optional<String> found = Optional.empty();
        for (Node child = element.getFirstChild(); child != null; child = child.getNextSibling()) {
            if (child instanceof Element && ((Element) child).getTagName().equals(name)) {
                if (found.isPresent()) {
                    return Optional.empty();
                }
                found = Optional.of(child.getTextContent().trim());
            }
        }
        return found;
    }

    private static String qualifier(Element element, List<Element> sameName) {
        if (sameName.size() == 1) {
            return "";
        }
        for (String attribute : IDENTIFYING) {
            Set<String> seen = new TreeSet<>();
            boolean identifies = sameName.stream().allMatch(one -> one.hasAttribute(attribute) && seen.add(one.getAttribute(attribute)));
            if (identifies) {
                return "[@" + attribute + "=" + element.getAttribute(attribute) + "]";
            }
            Set<String> texts = new TreeSet<>();
            boolean childIdentifies = sameName.stream().allMatch(one -> child(one, attribute).map(texts::add).orElse(false));
            if (childIdentifies) {
                return "[" + attribute + "=" + child(element, attribute).orElseThrow() + "]";
            }
        }
        return "[" + (sameName.indexOf(element) + 1) + "]";
    }
}
