package io.postino.organisations;

import java.util.Locale;

/** Which envelope senders an authenticated user of an organisation may use. */
public enum IdentityPolicy {
    /** MAIL FROM must be the user's login, or one of the addresses allowed to that user. */
    EXACT,
    /** MAIL FROM may be any address in the organisation's domains. */
    DOMAIN;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
