package io.postino.server.autoconfig;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.w3c.dom.Document;
import org.w3c.dom.Element;

import io.postino.organisations.MailboxServer;

/**
 * An Apple configuration profile ({@code .mobileconfig}, a property list) with one mail account
 * payload ({@code com.apple.mail.managed}) for one address: iOS, iPadOS and macOS Mail install it
 * when it is opened. The profile is not signed (the device says "Unsigned"/"Not Verified"); its
 * content is what the other documents say too, and it holds no password (Mail asks for it).
 *
 * <p>The payload needs an incoming server, so only an organisation with a {@code <mailboxServer>}
 * gets one. Mail takes a single outgoing server: the first submission listener (465 with
 * implicit TLS when there is one, else 587, on which {@code OutgoingMailServerUseSSL} means
 * STARTTLS). UUIDs and identifiers are derived from the host name and the address, so the
 * profile of one user is always the same and installing it again replaces the earlier one.</p>
 */
final class AppleMobileconfig {
    static final String CONTENT_TYPE = "application/x-apple-aspen-config";

    private AppleMobileconfig() {
    }

    static byte[] profile(ClientSettings settings) {
        String address = settings.address().orElseThrow();
        MailboxServer mailbox = settings.mailbox().orElseThrow();
        SubmissionListener outgoing = settings.submissions().get(0);
        String identifier = reversed(settings.hostname()) + ".postino.mail";
        UUID profileUuid = uuid(settings, "profile");
        UUID accountUuid = uuid(settings, "account");

        Map<String, Object> account = new LinkedHashMap<>();
        account.put("PayloadType", "com.apple.mail.managed");
        account.put("PayloadVersion", 1);
        account.put("PayloadIdentifier", identifier + ".account." + accountUuid);
        account.put("PayloadUUID", accountUuid.toString().toUpperCase());
        account.put("PayloadDisplayName", "Mail: " + address);
        account.put("EmailAccountDescription", settings.organisation().name() + " (" + address + ")");
        account.put("EmailAddress", address);
        account.put("EmailAccountType", mailbox.type() == MailboxServer.Type.IMAP ? "EmailTypeIMAP" : "EmailTypePOP");
        account.put("IncomingMailServerHostName", mailbox.host());
        account.put("IncomingMailServerPortNumber", mailbox.port());
        account.put("IncomingMailServerUseSSL", true);
        account.put("IncomingMailServerAuthentication", "EmailAuthPassword");
        account.put("IncomingMailServerUsername", address);
        account.put("OutgoingMailServerHostName", settings.hostname());
        account.put("OutgoingMailServerPortNumber", outgoing.port());
        account.put("OutgoingMailServerUseSSL", true);
        account.put("OutgoingMailServerAuthentication", "EmailAuthPassword");
        account.put("OutgoingMailServerUsername", address);
        account.put("OutgoingPasswordSameAsIncomingPassword", false);

        Map<String, Object> profile = new LinkedHashMap<>();
        profile.put("PayloadContent", List.of(account));
        profile.put("PayloadDisplayName", settings.organisation().name() + " mail (" + address + ")");
        profile.put("PayloadDescription", "Sends mail through " + settings.hostname() + " and reads it from " + mailbox.host() + ".");
        profile.put("PayloadIdentifier", identifier + "." + profileUuid);
        profile.put("PayloadOrganization", settings.organisation().name());
        profile.put("PayloadRemovalDisallowed", false);
        profile.put("PayloadType", "Configuration");
        profile.put("PayloadUUID", profileUuid.toString().toUpperCase());
        profile.put("PayloadVersion", 1);

        Document document = XmlDocuments.newDocument();
        Element plist = document.createElementNS(null, "plist");
        plist.setAttribute("version", "1.0");
        document.appendChild(plist);
        value(plist, profile);
        return XmlDocuments.write(document, "-//Apple//DTD PLIST 1.0//EN", "http://www.apple.com/DTDs/PropertyList-1.0.dtd");
    }

    /** A name-based UUID: the same host name, address and part always give the same one. */
    private static UUID uuid(ClientSettings settings, String part) {
        return UUID.nameUUIDFromBytes(("postino-mobileconfig\n" + settings.hostname() + "\n" + settings.address().orElseThrow() + "\n" + part)
            .getBytes(StandardCharsets.UTF_8));
    }

    private static String reversed(String hostname) {
        List<String> labels = new ArrayList<>(List.of(hostname.split("\\.")));
        Collections.reverse(labels);
        return String.join(".", labels);
    }

    private static void value(Element parent, Object value) {
        if (value instanceof String text) {
            XmlDocuments.child(parent, "string", text);
        } else if (value instanceof Integer number) {
            XmlDocuments.child(parent, "integer", number.toString());
        } else if (value instanceof Boolean flag) {
            XmlDocuments.child(parent, flag ? "true" : "false", null);
        } else if (value instanceof List<?> list) {
            Element array = XmlDocuments.child(parent, "array", null);
            list.forEach(item -> value(array, item));
        } else if (value instanceof Map<?, ?> map) {
            Element dict = XmlDocuments.child(parent, "dict", null);
            map.forEach((key, item) -> {
                XmlDocuments.child(dict, "key", (String) key);
                value(dict, item);
            });
        } else {
            throw new IllegalArgumentException("not a property list value: " + value);
        }
    }
}
