package io.postino.server.users;

import javax.inject.Inject;

import org.apache.james.core.Username;
import org.apache.james.user.api.UsersRepository;
import org.apache.james.user.api.UsersRepositoryException;
import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.JsonTransformer;
import org.eclipse.jetty.http.HttpStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.server.WebAdminErrors;
import io.postino.server.smtp.LogSafe;
import spark.Request;
import spark.Response;
import spark.Service;

/**
 * Disabling and enabling users ({@link DisabledUsers}):
 * <ul>
 *   <li>{@code GET /disabledUsers}: the disabled logins, a sorted JSON array (the operator's only).</li>
 *   <li>{@code PUT /disabledUsers/alice@acme.test}: 204; Alice can no longer log in to send
 *   ({@code 535 5.7.8}) and a session she opened before cannot start another mail. 404 when
 *   there is no such user, 400 for a login that is not one.</li>
 *   <li>{@code DELETE /disabledUsers/alice@acme.test}: 204, she can log in again at once (also
 *   when she was not disabled).</li>
 * </ul>
 * An organisation's token may PUT and DELETE the logins of its own domains
 * ({@code OrganisationScope}); {@code GET /organisations/<id>/users} says of each user whether
 * it is disabled.
 */
public class DisabledUserRoutes implements Routes {
    public static final String BASE = "/disabledUsers";
    private static final Logger LOGGER = LoggerFactory.getLogger(DisabledUserRoutes.class);

    private final DisabledUsers disabled;
    private final UsersRepository users;
    private final JsonTransformer json;

    @Inject
    public DisabledUserRoutes(DisabledUsers disabled, UsersRepository users, JsonTransformer json) {
        this.disabled = disabled;
        this.users = users;
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE, (request, response) -> disabled.logins(), json);
        service.put(BASE + "/:login", this::disable);
        service.delete(BASE + "/:login", this::enable);
    }

    private Object disable(Request request, Response response) throws UsersRepositoryException {
        Username user = username(request);
        if (!users.contains(user)) {
            throw WebAdminErrors.notFound("No user '" + user.asString() + "': only an existing user can be disabled");
        }
        String by = caller(request);
        disabled.disable(user.asString(), by);
        LOGGER.info("User {} disabled over WebAdmin by {}: it can no longer log in to send", LogSafe.of(user.asString()), by);
        response.status(HttpStatus.NO_CONTENT_204);
        return "";
    }

    private Object enable(Request request, Response response) {
        Username user = username(request);
        String by = caller(request);
        if (!disabled.enable(user.asString(), by)) {
            throw WebAdminErrors.forbidden("User '" + user.asString() + "' was disabled by the operator: only the operator can enable it again");
        }
        LOGGER.info("User {} enabled over WebAdmin by {}", LogSafe.of(user.asString()), by);
        response.status(HttpStatus.NO_CONTENT_204);
        return "";
    }

    /** The token's scope: {@code operator} or {@code organisation:<id>} (WebAdminAccess sets it). */
    private static String caller(Request request) {
        Object scope = request.attribute(org.apache.james.webadmin.authentication.AuthenticationFilter.LOGIN);
        return scope == null ? DisabledUsers.OPERATOR : scope.toString();
    }

    private static Username username(Request request) {
        String login = request.params("login");
        try {
            return Username.of(login);
        } catch (IllegalArgumentException e) {
            throw WebAdminErrors.badRequest("'" + login + "' is not a login: " + e.getMessage());
        }
    }
}
