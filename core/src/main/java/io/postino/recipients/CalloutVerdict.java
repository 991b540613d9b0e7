package io.postino.recipients;

/**
 * What an organisation's internal server answered when asked whether it accepts a recipient.
 *
 * @param outcome accepted; refused (the server says the mailbox does not exist); unknown (4xx, a
 *                policy refusal); unreachable (no connection, or no answer in time)
 * @param reply the server's reply to RCPT, or what went wrong
 */
public record CalloutVerdict(Outcome outcome, String reply) {
    public enum Outcome { ACCEPTED, REFUSED, UNKNOWN, UNREACHABLE }

    public static CalloutVerdict accepted(String reply) {
        return new CalloutVerdict(Outcome.ACCEPTED, reply);
    }

    public static CalloutVerdict refused(String reply) {
        return new CalloutVerdict(Outcome.REFUSED, reply);
    }

    public static CalloutVerdict unknown(String reason) {
        return new CalloutVerdict(Outcome.UNKNOWN, reason);
    }

    public static CalloutVerdict unreachable(String reason) {
        return new CalloutVerdict(Outcome.UNREACHABLE, reason);
    }
}
