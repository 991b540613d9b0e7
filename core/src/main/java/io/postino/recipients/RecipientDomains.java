package io.postino.recipients;

/** DNS checks of recipient domains, cached. */
public interface RecipientDomains {
    /** Waits at most the configured DNS timeout; never throws. */
    DomainVerdict check(String domain);
}
