package io.postino.organisations;

import org.apache.mailet.AttributeName;

/** Mail attributes that Postino sets on every accepted mail and that its matchers read. */
public final class PostinoAttributes {
    /** Id of the organisation the mail belongs to (a String). */
    public static final AttributeName ORGANISATION = AttributeName.of("postino.organisation");
    /** Login of the SMTP AUTH user who submitted the mail (a String); absent for unauthenticated mail. */
    public static final AttributeName USER = AttributeName.of("postino.user");

    private PostinoAttributes() {
    }
}
