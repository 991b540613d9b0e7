package io.postino.mailets;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.james.rrt.api.RecipientRewriteTable;
import org.apache.james.rrt.api.RecipientRewriteTableException;
import org.apache.james.rrt.lib.Mapping;
import org.apache.james.rrt.lib.Mappings;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;

/**
 * Delivers mail for {@code postmaster@} and {@code abuse@} of the domains Postino serves, which it
 * accepts from anyone (RFC 5321 §4.5.1, RFC 2142) though it hosts no mailboxes. Each such
 * recipient is replaced by, in this order:
 * <ol>
 *   <li>the targets of an alias defined for that address through WebAdmin
 *   ({@code PUT /address/aliases/...}, James' recipient rewrite table);</li>
 *   <li>the address the organisation answering for the domain gives in organisations.xml
 *   ({@code <postmaster>} or {@code <abuse>});</li>
 *   <li>the server's postmaster ({@code <postmaster>} of mailetcontainer.xml).</li>
 * </ol>
 * The mail then goes to {@code processor} for delivery. Other recipients are left as they are.
 *
 * <ul>
 *   <li>{@code processor}: where the rewritten mail goes. Default {@code relay}.</li>
 * </ul>
 *
 * <pre>{@code
 * <mailet match="io.postino.matchers.IsRoleAddress" class="io.postino.mailets.RouteRoleAddresses">
 *     <processor>relay</processor>
 * </mailet>
 * }</pre>
 */
public class RouteRoleAddresses extends GenericMailet {
    private static final Logger LOGGER = LoggerFactory.getLogger(RouteRoleAddresses.class);
    private static final Set<String> ROLES = Set.of("postmaster", "abuse");

    private final Organisations organisations;
    private final RecipientRewriteTable aliases;
    private String processor;

    @Inject
    public RouteRoleAddresses(Organisations organisations, RecipientRewriteTable aliases) {
        this.organisations = organisations;
        this.aliases = aliases;
    }

    @Override
    public void init() throws MessagingException {
        processor = getInitParameter("processor", "relay").trim();
        if (processor.isEmpty()) {
            throw new MessagingException("RouteRoleAddresses: <processor> must name a processor of mailetcontainer.xml, e.g. relay");
        }
    }

    private boolean isRoleAddress(MailAddress address) {
        return ROLES.contains(address.getLocalPart().toLowerCase(Locale.ROOT))
            && (organisations.current().answeringFor(address.getDomain().asString()).isPresent()
                || getMailetContext().isLocalServer(address.getDomain()));
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        Set<MailAddress> recipients = new LinkedHashSet<>();
        Set<MailAddress> looping = new LinkedHashSet<>();
        boolean routed = false;
        for (MailAddress recipient : mail.getRecipients()) {
            String role = recipient.getLocalPart().toLowerCase(Locale.ROOT);
            Optional<Organisation> organisation = organisations.current().answeringFor(recipient.getDomain().asString());
            if (!isRoleAddress(recipient)) {
                recipients.add(recipient);
                continue;
            }
            List<MailAddress> targets = aliasTargets(recipient);
            if (targets.isEmpty()) {
                Optional<String> configured = organisation.flatMap(owner -> role.equals("postmaster") ? owner.postmaster() : owner.abuse());
                targets = List.of(configured.isPresent() ? new MailAddress(configured.get()) : getMailetContext().getPostmaster());
            }
            for (MailAddress target : targets) {
                if (isRoleAddress(target)) {
                    // e.g. the server's postmaster is postmaster@ a served domain: it would come back here forever
                    LOGGER.error("Mail {} for {} would go to {}, itself an address Postino answers for: kept in the error repository;"
                        + " set <postmaster> in mailetcontainer.xml (or the organisation's) to a real mailbox",
                        mail.getName(), recipient.asString(), target.asString());
                    looping.add(recipient);
                } else {
                    recipients.add(target);
                }
            }
            LOGGER.info("Mail {} for {} goes to {}", mail.getName(), recipient.asString(), targets);
            routed = true;
        }
        if (!looping.isEmpty()) {
            Mail kept = mail.duplicate();
            kept.setRecipients(looping);
            kept.setErrorMessage("postmaster@/abuse@ would be routed to an address Postino answers for itself (a loop)");
            getMailetContext().sendMail(kept, Mail.ERROR);
        }
        if (routed) {
            mail.setRecipients(recipients);
            mail.setState(recipients.isEmpty() ? Mail.GHOST : processor);
        }
    }

    private List<MailAddress> aliasTargets(MailAddress recipient) throws MessagingException {
        Mappings mappings;
        try {
            mappings = aliases.getResolvedMappings(recipient.getLocalPart(), recipient.getDomain());
        } catch (RecipientRewriteTableException e) {
            throw new MessagingException("Cannot read the aliases of " + recipient.asString() + ": " + e.getMessage(), e);
        } catch (org.apache.james.rrt.api.RecipientRewriteTable.ErrorMappingException e) {
            throw new MessagingException("The alias of " + recipient.asString() + " is an error mapping: " + e.getMessage(), e);
        }
        List<MailAddress> targets = new ArrayList<>();
        if (mappings == null) {
            return targets;
        }
        for (Mapping mapping : mappings) {
            Optional<MailAddress> address = mapping.asMailAddress();
            if (address.isPresent() && !address.get().equals(recipient)) {
                targets.add(address.get());
            }
        }
        return targets;
    }

    @Override
    public String getMailetInfo() {
        return "Delivers postmaster@ and abuse@ of the served domains to their owners";
    }
}
