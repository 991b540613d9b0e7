package io.postino.server.organisations;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;

import javax.inject.Inject;

import org.apache.james.core.Username;
import org.apache.james.user.api.UsersRepository;
import org.apache.james.user.api.UsersRepositoryException;
import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.ErrorResponder;
import org.apache.james.webadmin.utils.JsonTransformer;
import org.eclipse.jetty.http.HttpStatus;

import io.postino.organisations.Cidr;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.ReloadOutcome;
import io.postino.server.WebAdminErrors;
import io.postino.server.users.DisabledUsers;
import spark.Request;
import spark.Response;
import spark.Service;

/**
 * WebAdmin view of the organisations in force (what the server loaded, not what the file says
 * now), and the reload trigger.
 *
 * <ul>
 *   <li>{@code GET /organisations}: the file, the last reload outcome and a summary per organisation.</li>
 *   <li>{@code GET /organisations/{id}}: effective configuration and number of users.</li>
 *   <li>{@code GET /organisations/{id}/users}: the users in the organisation's domains, sorted:
 *   {@code [{"login": "alice@acme.test", "disabled": false}, ...]} ({@code disabled}: see
 *   {@code /disabledUsers}).</li>
 *   <li>{@code POST /organisations/reload}: re-reads the file; 200 when applied, 400 with the
 *   file, line and reason when refused (the previous configuration stays in force).</li>
 * </ul>
 */
public class OrganisationRoutes implements Routes {
    private static final String BASE = "/organisations";

    private final Organisations organisations;
    private final UsersRepository users;
    private final DisabledUsers disabled;
    private final JsonTransformer json;

    @Inject
    public OrganisationRoutes(Organisations organisations, UsersRepository users, DisabledUsers disabled, JsonTransformer json) {
        this.organisations = organisations;
        this.users = users;
        this.disabled = disabled;
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE, (request, response) -> overview(), json);
        service.post(BASE + "/reload", this::reload, json);
        service.get(BASE + "/:id", (request, response) -> details(organisation(request)), json);
        service.get(BASE + "/:id/users", (request, response) -> userStates(organisation(request)), json);
    }

    private Map<String, Object> overview() throws UsersRepositoryException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("file", organisations.file().map(Object::toString).orElse(null));
        body.put("lastReload", outcome(organisations.lastReload()));
        List<Map<String, Object>> summaries = new ArrayList<>();
        for (Organisation organisation : organisations.current().organisations()) {
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("id", organisation.id());
            summary.put("name", organisation.name());
            summary.put("domains", new TreeSet<>(organisation.domains()));
            summary.put("users", usersOf(organisation).size());
            summaries.add(summary);
        }
        body.put("organisations", summaries);
        return body;
    }

    private Object reload(Request request, Response response) {
        ReloadOutcome outcome = organisations.reload();
        OrganisationsWatcher.log(outcome, "reload requested over WebAdmin");
        if (!outcome.applied()) {
            throw ErrorResponder.builder()
                .statusCode(HttpStatus.BAD_REQUEST_400)
                .type(ErrorResponder.ErrorType.INVALID_ARGUMENT)
                .message("organisations.xml was not applied; the previous configuration stays in force: %s",
                    outcome.problem().map(Throwable::getMessage).orElse("unknown problem"))
                .haltError();
        }
        return outcome(outcome);
    }

    private Organisation organisation(Request request) {
        String id = request.params("id");
        return organisations.current().byId(id).orElseThrow(() -> WebAdminErrors.noOrganisation(id));
    }

    private Map<String, Object> details(Organisation organisation) throws UsersRepositoryException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", organisation.id());
        body.put("name", organisation.name());
        body.put("domains", new TreeSet<>(organisation.domains()));
        body.put("trustedNetworks", organisation.trustedNetworks().stream().map(Cidr::toString).collect(Collectors.toList()));
        Map<String, Object> identity = new LinkedHashMap<>();
        identity.put("policy", organisation.identityPolicy().configName());
        identity.put("allowedAddresses", organisation.allowedAddresses().entrySet().stream()
            .collect(Collectors.toMap(Map.Entry::getKey, entry -> new TreeSet<>(entry.getValue()), (a, b) -> a, java.util.TreeMap::new)));
        body.put("identity", identity);
        body.put("postmaster", organisation.postmaster().orElse(null));
        body.put("abuse", organisation.abuse().orElse(null));
        body.put("relayDomains", organisation.relayDomains().stream()
            .map(relay -> Map.of("domain", relay.domain(), "host", relay.host(), "port", relay.port()))
            .collect(Collectors.toList()));
        body.put("mailboxServer", organisation.mailboxServer()
            .map(mailbox -> Map.of("type", mailbox.type().value(), "host", mailbox.host(), "port", mailbox.port(),
                "tls", mailbox.implicitTls() ? "implicit" : "starttls"))
            .orElse(null));
        body.put("users", usersOf(organisation).size());
        return body;
    }

    private List<String> usersOf(Organisation organisation) throws UsersRepositoryException {
        List<String> logins = new ArrayList<>();
        Iterator<Username> all = users.list();
        while (all.hasNext()) {
            Username user = all.next();
            if (user.getDomainPart().map(domain -> organisation.ownsDomain(domain.asString())).orElse(false)) {
                logins.add(user.asString());
            }
        }
        logins.sort(String::compareTo);
        return logins;
    }

    private List<Map<String, Object>> userStates(Organisation organisation) throws UsersRepositoryException {
        List<Map<String, Object>> states = new ArrayList<>();
        for (String login : usersOf(organisation)) {
            Map<String, Object> state = new LinkedHashMap<>();
            state.put("login", login);
            state.put("disabled", disabled.isDisabled(login));
            states.add(state);
        }
        return states;
    }

    private static Map<String, Object> outcome(ReloadOutcome outcome) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("at", outcome.at().toString());
        body.put("applied", outcome.applied());
        body.put("organisations", outcome.organisations());
        outcome.problem().ifPresent(problem -> {
            body.put("error", problem.getMessage());
            body.put("line", problem.line());
        });
        return body;
    }
}
