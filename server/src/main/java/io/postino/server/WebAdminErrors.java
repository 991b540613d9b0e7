package io.postino.server;

import org.apache.james.webadmin.utils.ErrorResponder;
import org.eclipse.jetty.http.HttpStatus;

/** The errors Postino's WebAdmin routes answer with: James' JSON error body, the message as given. */
public final class WebAdminErrors {
    private WebAdminErrors() {
    }

    public static RuntimeException badRequest(String message) {
        return halt(HttpStatus.BAD_REQUEST_400, ErrorResponder.ErrorType.INVALID_ARGUMENT, message);
    }

    public static RuntimeException notFound(String message) {
        return halt(HttpStatus.NOT_FOUND_404, ErrorResponder.ErrorType.NOT_FOUND, message);
    }

    /** 404 for an organisation id that organisations.xml does not have. */
    public static RuntimeException noOrganisation(String id) {
        return notFound("No organisation '" + id + "'");
    }

    /** 403: the token may use the route, but not for this. */
    public static RuntimeException forbidden(String message) {
        return halt(HttpStatus.FORBIDDEN_403, ErrorResponder.ErrorType.INVALID_ARGUMENT, message);
    }

    public static RuntimeException conflict(String message) {
        return halt(HttpStatus.CONFLICT_409, ErrorResponder.ErrorType.INVALID_ARGUMENT, message);
    }

    public static RuntimeException unavailable(String message) {
        return halt(HttpStatus.SERVICE_UNAVAILABLE_503, ErrorResponder.ErrorType.SERVER_ERROR, message);
    }

    private static RuntimeException halt(int status, ErrorResponder.ErrorType type, String message) {
        return ErrorResponder.builder().statusCode(status).type(type).message("%s", message).haltError();
    }
}
