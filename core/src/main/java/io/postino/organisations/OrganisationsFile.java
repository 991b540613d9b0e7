package io.postino.organisations;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Predicate;

import javax.xml.validation.Schema;

import org.xml.sax.Attributes;
import org.xml.sax.SAXException;

import io.postino.config.ConfigFileException;
import io.postino.config.SchemaValidatedXml;

/**
 * Reads {@code organisations.xml}: validates it against {@code organisations.xsd}, then checks
 * what a schema cannot express. Every problem names the file, the line and the reason.
 */
public final class OrganisationsFile {
    private static final Schema SCHEMA = SchemaValidatedXml.schema(OrganisationsFile.class.getResource("organisations.xsd"));

    private OrganisationsFile() {
    }

    /** Reads the file; a route's source address must be an address of this machine. */
    public static OrganisationsConfig read(Path file) throws OrganisationsException {
        return read(file, OrganisationsFile::isLocalAddress);
    }

    /** @param localAddress whether a route's source address can be used here (tests of other machines' files pass a stand-in) */
    public static OrganisationsConfig read(Path file, Predicate<String> localAddress) throws OrganisationsException {
        Builder builder = new Builder(file, localAddress);
        try {
            SchemaValidatedXml.read(file, SCHEMA, builder, "copy conf/organisations.xml from the distribution");
        } catch (ConfigFileException e) {
            throw new OrganisationsException(e.file(), e.line(), e.reason());
        }
        return new OrganisationsConfig(builder.organisations, builder.defaultLimits, builder.destinations, builder.routes);
    }

    private record ClaimedNetwork(String organisation, Cidr network, int line) {
    }

    /** An address this machine can send from: binding a socket to it succeeds (any loopback address does on Linux). */
    static boolean isLocalAddress(String address) {
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getByName(address), 0))) {
            return socket.isBound();
        } catch (IOException e) {
            return false;
        }
    }

    /** Builds organisations from the (already schema-valid) document, checking cross-references. */
    private static final class Builder extends SchemaValidatedXml.LineAwareHandler {
        private final Path file;
        private final List<Organisation> organisations = new ArrayList<>();
        private final Map<String, Integer> idLines = new HashMap<>();
        private final Map<String, String> domainOwners = new HashMap<>();
        private final Map<String, Integer> domainLines = new HashMap<>();
        private final List<ClaimedNetwork> networks = new ArrayList<>();
        private final StringBuilder text = new StringBuilder();

        private String id;
        private String name;
        private Set<String> domains;
        private List<Cidr> trustedNetworks;
        private IdentityPolicy policy;
        private Map<String, Set<String>> allowed;
        private Map<String, Integer> allowedLines;
        private String login;
        private final List<Limit> defaultLimits = new ArrayList<>();
        private final List<Pacing> destinations = new ArrayList<>();
        private final Map<String, Integer> destinationLines = new HashMap<>();
        private final Map<String, String> relayOwners = new HashMap<>();
        private final Map<String, Integer> relayLines = new HashMap<>();
        private Optional<String> postmaster;
        private Optional<String> abuse;
        private List<RelayDomain> relayDomains;
        private final List<Route> routes = new ArrayList<>();
        private final Map<String, Integer> routeLines = new LinkedHashMap<>();
        private Attributes routeAttributes;
        private int routeLine;
        private List<Route.Source> routeSources;
        private Optional<String> routing;
        private Map<String, String> overrides;
        private Map<String, Integer> overrideLines;
        private boolean dkimRequired;
        private Optional<MailboxServer> mailboxServer;
        private int postmasterLine;
        private int abuseLine;
        private LimitsSection limitsSection;
        private List<Limit> organisationLimits;
        private Map<String, List<Limit>> userLimits;

        private final Predicate<String> localAddress;

        Builder(Path file, Predicate<String> localAddress) {
            this.file = file;
            this.localAddress = localAddress;
        }

        @Override
        public void startElement(String uri, String localName, String qName, Attributes attributes) throws SAXException {
            text.setLength(0);
            if (limitsSection != null) {
                limitsSection.element(localName, attributes, line());
                return;
            }
            switch (localName) {
                case "limits":
                    limitsSection = new LimitsSection(id, domains);
                    break;
                case "destination":
                    destination(attributes);
                    break;
                case "organisation":
                    id = attributes.getValue("id");
                    Integer previous = idLines.putIfAbsent(id, line());
                    if (previous != null) {
                        throw new ProblemAtLine(line(), "organisation id '" + id + "' is already used on line " + previous);
                    }
                    name = attributes.getValue("name") == null ? id : attributes.getValue("name").trim();
                    domains = new LinkedHashSet<>();
                    trustedNetworks = new ArrayList<>();
                    policy = IdentityPolicy.EXACT;
                    allowed = new LinkedHashMap<>();
                    allowedLines = new HashMap<>();
                    organisationLimits = List.of();
                    userLimits = Map.of();
                    postmaster = Optional.empty();
                    abuse = Optional.empty();
                    relayDomains = new ArrayList<>();
                    routing = Optional.empty();
                    overrides = new LinkedHashMap<>();
                    overrideLines = new HashMap<>();
                    dkimRequired = false;
                    mailboxServer = Optional.empty();
                    break;
                case "route":
                    routeAttributes = new org.xml.sax.helpers.AttributesImpl(attributes);
                    routeLine = line();
                    routeSources = new ArrayList<>();
                    break;
                case "source":
                    String address = attributes.getValue("address").trim();
                    if (!Cidr.isAddressLiteral(address)) {
                        throw new ProblemAtLine(line(), "source address '" + address + "' must be an IPv4 or IPv6 address of this machine");
                    }
                    if (!localAddress.test(address)) {
                        throw new ProblemAtLine(line(), "source address " + address + " is not an address of this machine: mail could not be"
                            + " sent from it (add it to an interface first)");
                    }
                    routeSources.add(new Route.Source(address, attributes.getValue("helo").trim().toLowerCase(Locale.ROOT)));
                    break;
                case "routing":
                    routing = Optional.ofNullable(attributes.getValue("route")).map(String::trim);
                    if (routing.isPresent()) {
                        checkRoute(routing.get(), line());
                    }
                    break;
                case "override":
                    String overridden = attributes.getValue("domain").trim().toLowerCase(Locale.ROOT);
                    String via = attributes.getValue("route").trim();
                    checkRoute(via, line());
                    Integer before = overrideLines.putIfAbsent(overridden, line());
                    if (before != null) {
                        throw new ProblemAtLine(line(), "destination '" + overridden + "' already has a route on line " + before);
                    }
                    overrides.put(overridden, via);
                    break;
                case "dkim":
                    dkimRequired = "true".equals(attributes.getValue("required"));
                    break;
                case "relayDomain":
                    relayDomain(attributes);
                    break;
                case "mailboxServer":
                    MailboxServer.Type type = MailboxServer.Type.valueOf(attributes.getValue("type").trim().toUpperCase(Locale.ROOT));
                    boolean implicitTls = !"starttls".equals(Optional.ofNullable(attributes.getValue("tls")).map(String::trim).orElse("implicit"));
                    String mailboxPort = attributes.getValue("port");
                    mailboxServer = Optional.of(new MailboxServer(type, attributes.getValue("host").trim().toLowerCase(Locale.ROOT),
                        mailboxPort == null ? type.defaultPort(implicitTls) : Integer.parseInt(mailboxPort.trim()), implicitTls));
                    break;
                case "postmaster":
                    postmasterLine = line();
                    break;
                case "abuse":
                    abuseLine = line();
                    break;
                case "identity":
                    String value = attributes.getValue("policy");
                    policy = value == null ? IdentityPolicy.EXACT : IdentityPolicy.valueOf(value.toUpperCase(Locale.ROOT));
                    break;
                case "user":
                    login = attributes.getValue("login").trim().toLowerCase(Locale.ROOT);
                    if (!domains.contains(domainOf(login))) {
                        throw new ProblemAtLine(line(), "user '" + login + "' is not in a domain of organisation '" + id
                            + "' (" + String.join(", ", domains) + "): a user belongs to the organisation that owns its domain");
                    }
                    Integer earlier = allowedLines.putIfAbsent(login, line());
                    if (earlier != null) {
                        throw new ProblemAtLine(line(), "user '" + login + "' is already listed on line " + earlier);
                    }
                    allowed.put(login, new LinkedHashSet<>());
                    break;
                default:
                    break;
            }
        }

        @Override
        public void characters(char[] ch, int start, int length) {
            text.append(ch, start, length);
        }

        private void destination(Attributes attributes) throws ProblemAtLine {
            String domain = attributes.getValue("domain").trim().toLowerCase(Locale.ROOT);
            Integer earlier = destinationLines.putIfAbsent(domain, line());
            if (earlier != null) {
                throw new ProblemAtLine(line(), "destination '" + domain + "' is already defined on line " + earlier);
            }
            OptionalInt connections = optionalInt(attributes.getValue("connections"));
            OptionalInt perMinute = optionalInt(attributes.getValue("messagesPerMinute"));
            if (connections.isEmpty() && perMinute.isEmpty()) {
                throw new ProblemAtLine(line(), "destination '" + domain + "' needs connections or messagesPerMinute (or both)");
            }
            destinations.add(new Pacing(domain, connections, perMinute));
        }

        private void checkRoute(String name, int line) throws ProblemAtLine {
            if (!routeLines.containsKey(name)) {
                throw new ProblemAtLine(line, "route '" + name + "' is not defined in <routes>"
                    + (routeLines.isEmpty() ? " (there is none)" : " (routes: " + String.join(", ", routeLines.keySet()) + ")"));
            }
        }

        /** A {@code <route>} is complete at its end tag, once its sources are read. */
        private void endRoute() throws ProblemAtLine {
            String routeName = routeAttributes.getValue("name").trim();
            Integer earlier = routeLines.putIfAbsent(routeName, routeLine);
            if (earlier != null) {
                throw new ProblemAtLine(routeLine, "route '" + routeName + "' is already defined on line " + earlier);
            }
            Route.Kind kind = Route.Kind.valueOf(routeAttributes.getValue("kind").trim().toUpperCase(Locale.ROOT));
            Optional<String> host = Optional.ofNullable(routeAttributes.getValue("host")).map(String::trim);
            Optional<String> port = Optional.ofNullable(routeAttributes.getValue("port")).map(String::trim);
            Optional<String> username = Optional.ofNullable(routeAttributes.getValue("username")).map(String::trim);
            Optional<String> password = Optional.ofNullable(routeAttributes.getValue("password"));
            String tlsValue = Optional.ofNullable(routeAttributes.getValue("tls")).map(String::trim).orElse("opportunistic");
            Route.Tls tls = Route.Tls.valueOf(tlsValue.toUpperCase(Locale.ROOT));
            if (kind == Route.Kind.SMARTHOST && host.isEmpty()) {
                throw new ProblemAtLine(routeLine, "route '" + routeName + "' is a smarthost route and needs host (and port, default 25)");
            }
            if (kind == Route.Kind.MX && (host.isPresent() || port.isPresent() || username.isPresent())) {
                throw new ProblemAtLine(routeLine, "route '" + routeName + "' delivers to the recipients' MX hosts: host, port and username"
                    + " belong to smarthost routes");
            }
            if (kind == Route.Kind.MX && tls == Route.Tls.IMPLICIT) {
                throw new ProblemAtLine(routeLine, "route '" + routeName + "': tls=\"implicit\" is for a smarthost on port 465; MX hosts speak STARTTLS");
            }
            if (username.isPresent() != password.isPresent()) {
                throw new ProblemAtLine(routeLine, "route '" + routeName + "' needs both username and password, or neither");
            }
            if (username.isPresent() && tls != Route.Tls.REQUIRED && tls != Route.Tls.IMPLICIT) {
                throw new ProblemAtLine(routeLine, "route '" + routeName + "' sends a password: it needs tls=\"required\" or tls=\"implicit\","
                    + " or the password could cross the network in clear");
            }
            routes.add(new Route(routeName, kind, host, kind == Route.Kind.MX ? 0 : port.map(Integer::parseInt).orElse(25), tls,
                username, password, routeSources));
            routeAttributes = null;
        }

        private void relayDomain(Attributes attributes) throws ProblemAtLine {
            String domain = attributes.getValue("name").trim().toLowerCase(Locale.ROOT);
            String owner = domainOwners.get(domain);
            if (owner != null && !owner.equals(id)) {
                throw new ProblemAtLine(line(), "relay domain '" + domain + "' belongs to organisation '" + owner
                    + "' (line " + domainLines.get(domain) + "): a domain belongs to at most one organisation");
            }
            String relayOwner = relayOwners.putIfAbsent(domain, id);
            if (relayOwner != null) {
                throw new ProblemAtLine(line(), "relay domain '" + domain + "' is already declared by organisation '" + relayOwner
                    + "' on line " + relayLines.get(domain));
            }
            relayLines.put(domain, line());
            String port = attributes.getValue("port");
            relayDomains.add(new RelayDomain(domain, attributes.getValue("host").trim(), port == null ? 25 : Integer.parseInt(port.trim())));
        }

        private void checkRoleAddress(String role, Optional<String> address, int roleLine) throws ProblemAtLine {
            if (address.isEmpty()) {
                return;
            }
            String target = address.get();
            String local = target.substring(0, target.lastIndexOf('@'));
            String domain = domainOf(target);
            boolean ours = domains.contains(domain) || relayDomains.stream().anyMatch(relay -> relay.domain().equals(domain));
            if (ours && (local.equals("postmaster") || local.equals("abuse"))) {
                throw new ProblemAtLine(roleLine, role + " '" + target + "' is itself an address Postino answers for"
                    + " (postmaster@ and abuse@ of organisation '" + id + "'): the mail would loop; give a mailbox");
            }
        }

        private static OptionalInt optionalInt(String value) {
            return value == null ? OptionalInt.empty() : OptionalInt.of(Integer.parseInt(value.trim()));
        }

        @Override
        public void endElement(String uri, String localName, String qName) throws SAXException {
            String value = text.toString().trim();
            if (limitsSection != null) {
                if (localName.equals("limits")) {
                    if (id == null) {
                        defaultLimits.addAll(limitsSection.limits());
                    } else {
                        organisationLimits = limitsSection.limits();
                        userLimits = limitsSection.userLimits();
                    }
                    limitsSection = null;
                }
                return;
            }
            switch (localName) {
                case "domain":
                    String domain = value.toLowerCase(Locale.ROOT);
                    String owner = domainOwners.putIfAbsent(domain, id);
                    if (owner != null) {
                        throw new ProblemAtLine(line(), "domain '" + domain + "' already belongs to organisation '" + owner
                            + "' (line " + domainLines.get(domain) + "): a domain belongs to at most one organisation");
                    }
                    String relayOwner = relayOwners.get(domain);
                    if (relayOwner != null && !relayOwner.equals(id)) {
                        throw new ProblemAtLine(line(), "domain '" + domain + "' is a relay domain of organisation '" + relayOwner
                            + "' (line " + relayLines.get(domain) + "): a domain belongs to at most one organisation");
                    }
                    domainLines.put(domain, line());
                    domains.add(domain);
                    break;
                case "route":
                    endRoute();
                    break;
                case "postmaster":
                    postmaster = Optional.of(value.toLowerCase(Locale.ROOT));
                    break;
                case "abuse":
                    abuse = Optional.of(value.toLowerCase(Locale.ROOT));
                    break;
                case "trustedNetwork":
                    Cidr network;
                    try {
                        network = Cidr.parse(value);
                    } catch (IllegalArgumentException e) {
                        throw new ProblemAtLine(line(), "trustedNetwork " + e.getMessage());
                    }
                    for (ClaimedNetwork other : networks) {
                        if (!other.organisation().equals(id) && other.network().overlaps(network)) {
                            throw new ProblemAtLine(line(), "trustedNetwork " + network + " overlaps " + other.network()
                                + " of organisation '" + other.organisation() + "' (line " + other.line()
                                + "): mail from it could not be attributed to one organisation");
                        }
                    }
                    networks.add(new ClaimedNetwork(id, network, line()));
                    trustedNetworks.add(network);
                    break;
                case "allow":
                    String address = value.toLowerCase(Locale.ROOT);
                    if (!domains.contains(domainOf(address))) {
                        throw new ProblemAtLine(line(), "allowed address '" + address + "' of user '" + login
                            + "' is not in a domain of organisation '" + id + "' (" + String.join(", ", domains) + ")");
                    }
                    allowed.get(login).add(address);
                    break;
                case "organisation":
                    checkRoleAddress("postmaster", postmaster, postmasterLine);
                    checkRoleAddress("abuse", abuse, abuseLine);
                    organisations.add(new Organisation(id, name, domains, trustedNetworks, policy, allowed, organisationLimits, userLimits)
                        .withInbound(postmaster, abuse, relayDomains)
                        .withDelivery(routing, overrides, dkimRequired)
                        .withMailboxServer(mailboxServer));
                    id = null;
                    break;
                default:
                    break;
            }
            text.setLength(0);
        }

        private static String domainOf(String address) {
            return address.substring(address.lastIndexOf('@') + 1);
        }

        @Override
        public String toString() {
            return "organisations of " + file;
        }
    }
}
