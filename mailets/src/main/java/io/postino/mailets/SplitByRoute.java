package io.postino.mailets;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.inject.Inject;
import javax.mail.MessagingException;

import org.apache.james.core.MailAddress;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.Mail;
import org.apache.mailet.base.GenericMailet;

import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.PostinoAttributes;

/**
 * Splits a mail whose recipients take different routes (organisations.xml {@code <routing>} with
 * {@code <override>}s) into one mail per route, so that each leaves by its own road: the mail
 * keeps the recipients of its first route, and a copy per other route goes through the current
 * processor again. Mail of organisations without routing, and mail without an organisation, is
 * left alone. Place it first in the processor that holds RemoteDelivery.
 *
 * <p>No parameters.</p>
 *
 * <pre>{@code
 * <mailet match="All" class="io.postino.mailets.SplitByRoute"/>
 * }</pre>
 */
public class SplitByRoute extends GenericMailet {
    private final Organisations organisations;

    @Inject
    public SplitByRoute(Organisations organisations) {
        this.organisations = organisations;
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        Optional<Organisation> organisation = AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.ORGANISATION, String.class)
            .flatMap(id -> organisations.current().byId(id));
        if (organisation.isEmpty() || organisation.get().routeOverrides().isEmpty()) {
            return;
        }
        Map<String, List<MailAddress>> byRoute = new LinkedHashMap<>();
        for (MailAddress recipient : mail.getRecipients()) {
            String route = organisation.get().routeTo(recipient.getDomain().asString()).orElse("");
            byRoute.computeIfAbsent(route, any -> new ArrayList<>()).add(recipient);
        }
        if (byRoute.size() < 2) {
            return;
        }
        List<List<MailAddress>> groups = new ArrayList<>(byRoute.values());
        for (List<MailAddress> group : groups.subList(1, groups.size())) {
            Mail copy = mail.duplicate();
            copy.setRecipients(group);
            getMailetContext().sendMail(copy, mail.getState());
        }
        mail.setRecipients(groups.get(0));
    }

    @Override
    public String getMailetInfo() {
        return "Splits a mail per route of its recipients";
    }
}
