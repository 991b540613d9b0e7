package io.postino.organisations;

import org.apache.mailet.AttributeName;

/** Mail attributes that Postino sets on every accepted mail and that its matchers read. */
public final class PostinoAttributes {
    /** Id of the organisation that sent the mail, as verified at SMTP time or by RejectUnauthorisedSender (a String). */
    public static final AttributeName ORGANISATION = AttributeName.of("postino.organisation");
    /** Login of the SMTP AUTH user who submitted the mail (a String); absent for unauthenticated mail. */
    public static final AttributeName USER = AttributeName.of("postino.user");
    /**
     * Id of the organisation that owns the recipients' domain, on mail received from the Internet
     * for the served domains (a String). Never on submitted mail: such mail is not the organisation's own.
     */
    public static final AttributeName RECIPIENT_ORGANISATION = AttributeName.of("postino.recipientOrganisation");
    /**
     * The id the mail had when Postino accepted it (a String). Copies and splits of the mail keep
     * it, so every step of its life is found under one id in tracking.
     */
    public static final AttributeName TRACKING_ID = AttributeName.of("postino.trackingId");
    /**
     * When the mail was accepted at the end of DATA, epoch milliseconds (a Long): the start of
     * {@code postino_delivery_latency_seconds}. Kept by copies and splits.
     */
    public static final AttributeName RECEIVED_AT = AttributeName.of("postino.receivedAt");
    /** The host RemoteDelivery last talked to about this mail, host:port (a String). */
    public static final AttributeName REMOTE_HOST = AttributeName.of("postino.remoteHost");
    /** That host's last reply, e.g. {@code 250 2.0.0 queued} (a String). */
    public static final AttributeName REMOTE_REPLY = AttributeName.of("postino.remoteReply");
    /**
     * The recipients the remote server refused at RCPT TO in the last delivery attempt, each with
     * its reply, e.g. {@code 550 5.1.1 no such user} (a map of address to String).
     */
    public static final AttributeName FAILED_RECIPIENTS = AttributeName.of("postino.failedRecipients");
    /**
     * Set (true) on mail whose client declared SMTPUTF8 (RFC 6531): its headers may be UTF-8, and
     * the next hop must offer SMTPUTF8 for any of it that is (a Boolean).
     */
    public static final AttributeName SMTPUTF8 = AttributeName.of("postino.smtputf8");
    /** Marks a notification Postino generates itself (the bounces processor sets it before DSNBounce). */
    public static final AttributeName NOTIFICATION = AttributeName.of("postino.notification");

    private PostinoAttributes() {
    }
}
