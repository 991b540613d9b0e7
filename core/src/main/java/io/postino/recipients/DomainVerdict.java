package io.postino.recipients;

/** Whether mail can be delivered to a recipient domain, as its DNS says (RFC 5321 §5.1, RFC 7505). */
public enum DomainVerdict {
    /** It has an MX, or an A/AAAA record standing for one. */
    DELIVERABLE(false),
    /** Its only MX is "." (RFC 7505): it accepts no mail. */
    NULL_MX(true),
    /** The domain does not exist (NXDOMAIN). */
    NO_SUCH_DOMAIN(true),
    /** The domain exists but has neither MX nor A/AAAA. */
    NO_MAIL_SERVER(true),
    /** DNS did not answer in time, or failed: the answer may differ later. */
    TEMPORARY_FAILURE(false);

    private final boolean permanentFailure;

    DomainVerdict(boolean permanentFailure) {
        this.permanentFailure = permanentFailure;
    }

    /** Mail to this domain would bounce whenever it is sent. */
    public boolean isPermanentFailure() {
        return permanentFailure;
    }
}
