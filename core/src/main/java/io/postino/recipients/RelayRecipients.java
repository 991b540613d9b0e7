package io.postino.recipients;

import io.postino.organisations.RelayDomain;

/** Recipient verification against an organisation's internal server (SMTP callout), cached. */
public interface RelayRecipients {
    /** Waits at most the configured callout timeout; never throws. */
    CalloutVerdict verify(RelayDomain relayDomain, String address);
}
