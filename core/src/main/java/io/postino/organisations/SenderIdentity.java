package io.postino.organisations;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.TreeSet;

import javax.mail.internet.AddressException;
import javax.mail.internet.InternetAddress;

import org.apache.james.core.MaybeSender;

/**
 * Who may send as whom. The SMTP hooks and the {@code RejectUnauthorisedSender} mailet both ask
 * these rules, so mail is judged the same whichever way it entered.
 *
 * <ul>
 *   <li>An authenticated user belongs to the organisation owning its login's domain; a user of no
 *   organisation sends nothing. Policy {@code exact}: MAIL FROM is the login or an address allowed
 *   to that user; policy {@code domain}: any address in the organisation's domains.</li>
 *   <li>A host in an organisation's trusted network sends only from that organisation's domains.</li>
 *   <li>A host in the listener's {@code authorizedAddresses} (the operator's own networks) sends
 *   for the organisation that owns the MAIL FROM domain.</li>
 *   <li>The null sender {@code <>} (bounces, read receipts, auto-replies) is accepted from a user
 *   or a trusted network, for their organisation; from the operator's networks it cannot be
 *   attributed and is refused.</li>
 *   <li>The visible sender, every address of From: and of Sender:, must be in the organisation's
 *   domains (DMARC alignment), whatever the envelope.</li>
 * </ul>
 */
public final class SenderIdentity {
    private SenderIdentity() {
    }

    /** Allowed, for an organisation; or refused, with a sentence for the client. */
    public static final class Verdict {
        private final Organisation organisation;
        private final String refusal;

        private Verdict(Organisation organisation, String refusal) {
            this.organisation = organisation;
            this.refusal = refusal;
        }

        static Verdict allowed(Organisation organisation) {
            return new Verdict(organisation, null);
        }

        static Verdict refused(String refusal) {
            return new Verdict(null, refusal);
        }

        public boolean isAllowed() {
            return refusal == null;
        }

        /** Present when allowed. */
        public Optional<Organisation> organisation() {
            return Optional.ofNullable(organisation);
        }

        /** Present when refused. */
        public Optional<String> refusal() {
            return Optional.ofNullable(refusal);
        }
    }

    public static Verdict forUser(OrganisationsConfig config, String login, MaybeSender sender) {
        Optional<Organisation> found = config.ofUser(login);
        if (found.isEmpty()) {
            return Verdict.refused("Login " + login + " is in no organisation's domain on this server, so it may not send mail;"
                + " ask the administrator to add its domain to an organisation");
        }
        Organisation organisation = found.get();
        if (sender.isNullSender()) {
            return Verdict.allowed(organisation);
        }
        String address = sender.get().asString().toLowerCase(Locale.ROOT);
        if (organisation.identityPolicy() == IdentityPolicy.EXACT) {
            if (address.equals(login.toLowerCase(Locale.ROOT)) || organisation.allowedAddressesOf(login).contains(address)) {
                return Verdict.allowed(organisation);
            }
            TreeSet<String> permitted = new TreeSet<>(organisation.allowedAddressesOf(login));
            permitted.add(login.toLowerCase(Locale.ROOT));
            return Verdict.refused(login + " may only send as " + String.join(", ", permitted) + ", not as " + address);
        }
        if (organisation.ownsDomain(sender.get().getDomain().asString())) {
            return Verdict.allowed(organisation);
        }
        return Verdict.refused(login + " may only send from the domains of organisation " + organisation.id()
            + " (" + domainList(organisation) + "), not as " + address);
    }

    public static Verdict forTrustedNetwork(Organisation organisation, MaybeSender sender) {
        if (sender.isNullSender() || organisation.ownsDomain(sender.get().getDomain().asString())) {
            return Verdict.allowed(organisation);
        }
        return Verdict.refused("Hosts in the trusted networks of organisation " + organisation.id()
            + " may only send from its domains (" + domainList(organisation) + "), not as " + sender.get().asString());
    }

    public static Verdict forSenderDomain(OrganisationsConfig config, MaybeSender sender) {
        if (sender.isNullSender()) {
            return Verdict.refused("A null sender <> from this network cannot be attributed to an organisation;"
                + " add the host to an organisation's trusted networks");
        }
        String domain = sender.get().getDomain().asString();
        return config.owningDomain(domain)
            .map(Verdict::allowed)
            .orElseGet(() -> Verdict.refused("Sender domain " + domain + " belongs to no organisation on this server"));
    }

    /**
     * Checks the values of one header field (From: or Sender:, each occurrence). An absent field is
     * aligned: the envelope sender, already checked, stands for it.
     */
    public static Verdict visibleSender(Organisation organisation, String headerName, String[] values) {
        if (values == null) {
            return Verdict.allowed(organisation);
        }
        for (String value : values) {
            List<InternetAddress> addresses = new ArrayList<>();
            try {
                for (InternetAddress address : InternetAddress.parseHeader(value, true)) {
                    addresses.add(address);
                }
            } catch (AddressException e) {
                return Verdict.refused(headerName + ": header '" + value.strip() + "' cannot be parsed, so its sender cannot be verified");
            }
            for (InternetAddress address : addresses) {
                String text = address.getAddress() == null ? "" : address.getAddress();
                int at = text.lastIndexOf('@');
                if (at < 0 || !organisation.ownsDomain(text.substring(at + 1))) {
                    return Verdict.refused(headerName + ": address " + text + " is not in a domain of organisation "
                        + organisation.id() + " (" + domainList(organisation) + "); the visible sender must align with the sending organisation");
                }
            }
        }
        return Verdict.allowed(organisation);
    }

    private static String domainList(Organisation organisation) {
        return String.join(", ", new TreeSet<>(organisation.domains()));
    }
}
