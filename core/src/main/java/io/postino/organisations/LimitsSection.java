package io.postino.organisations;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.xml.sax.Attributes;

/**
 * The content of one {@code <limits>} element: the defaults at the top of organisations.xml
 * (organisation id {@code null}) or one organisation's own. Refuses a rate without messages or
 * recipients, the same limit given twice, and a login outside the organisation's domains.
 */
final class LimitsSection {
    private final String organisation;
    private final Set<String> domains;
    private final List<Limit> limits = new ArrayList<>();
    private final Map<String, List<Limit>> userLimits = new LinkedHashMap<>();
    private final Map<String, Integer> seen = new HashMap<>();

    LimitsSection(String organisation, Set<String> domains) {
        this.organisation = organisation;
        this.domains = domains;
    }

    List<Limit> limits() {
        return limits;
    }

    Map<String, List<Limit>> userLimits() {
        return userLimits;
    }

    void element(String name, Attributes attributes, int line) throws ProblemAtLine {
        if (name.equals("quota")) {
            remember("quota", line, "<quota>");
            limits.add(new Limit(Limit.Scope.ORGANISATION, Limit.Period.QUOTA_DAY, Limit.Unit.RECIPIENTS,
                Long.parseLong(attributes.getValue("recipients").trim())));
            return;
        }
        Limit.Scope scope = Limit.Scope.valueOf(name.toUpperCase(Locale.ROOT));
        String per = attributes.getValue("per").trim();
        Limit.Period period = Limit.Period.valueOf(per.toUpperCase(Locale.ROOT));
        String login = attributes.getValue("login") == null ? null : attributes.getValue("login").trim().toLowerCase(Locale.ROOT);
        String messages = attributes.getValue("messages");
        String recipients = attributes.getValue("recipients");
        String what = "<" + name + (login == null ? "" : " login=\"" + login + "\"") + " per=\"" + per + "\">";
        if (messages == null && recipients == null) {
            throw new ProblemAtLine(line, what + " needs messages or recipients (or both)");
        }
        if (login != null && !domains.contains(login.substring(login.lastIndexOf('@') + 1))) {
            throw new ProblemAtLine(line, "limits of user '" + login + "' are not in organisation '" + organisation
                + "': its domain is not one of " + String.join(", ", domains));
        }
        remember(name + "/" + login + "/" + period, line, what);
        List<Limit> target = login == null ? limits : userLimits.computeIfAbsent(login, any -> new ArrayList<>());
        if (messages != null) {
            target.add(new Limit(scope, period, Limit.Unit.MESSAGES, Long.parseLong(messages.trim())));
        }
        if (recipients != null) {
            target.add(new Limit(scope, period, Limit.Unit.RECIPIENTS, Long.parseLong(recipients.trim())));
        }
    }

    private void remember(String key, int line, String what) throws ProblemAtLine {
        Integer earlier = seen.putIfAbsent(key, line);
        if (earlier != null) {
            throw new ProblemAtLine(line, what + " is already given on line " + earlier + " of the same <limits>");
        }
    }
}
