package io.postino.events;

import java.time.Instant;
import java.util.Locale;
import java.util.Optional;

/**
 * One step in the life of a message for one recipient: received, rejected at SMTP time, queued,
 * deferred, delivered, bounced, suppressed, rate-limited. Fields that do not apply are empty.
 *
 * @param mailId Postino's internal id of the mail (for a rejection, an id of its own)
 * @param reply the SMTP reply that decided the step (the remote one for deliveries, ours for rejections)
 */
public record DeliveryEvent(Type type, Instant at, String mailId, Optional<String> messageId, Optional<String> organisation,
                            Optional<String> user, Optional<String> clientIp, Optional<String> sender, Optional<String> recipient,
                            long size, Optional<String> remoteHost, Optional<String> reply) {
    public enum Type {
        RECEIVED, REJECTED, QUEUED, DEFERRED, DELIVERED, BOUNCED, SUPPRESSED, RATE_LIMITED;

        public String configName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        public static Type fromConfigName(String name) {
            return valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        }
    }
}
