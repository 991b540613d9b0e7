package io.postino.organisations;

import java.time.Duration;
import java.util.Locale;

/**
 * One rate limit: at most {@code amount} messages or recipients per minute, hour or day, for one
 * user, one organisation or one client address. Or, when {@code period} is {@link Period#QUOTA_DAY},
 * an organisation's quota per calendar day (UTC).
 */
public record Limit(Scope scope, Period period, Unit unit, long amount) {
    public enum Scope {
        USER, ORGANISATION, CLIENT;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum Unit {
        MESSAGES, RECIPIENTS;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum Period {
        MINUTE(Duration.ofMinutes(1)), HOUR(Duration.ofHours(1)), DAY(Duration.ofDays(1)),
        /** Calendar day in UTC: the whole amount comes back at midnight. */
        QUOTA_DAY(Duration.ofDays(1));

        private final Duration duration;

        Period(Duration duration) {
            this.duration = duration;
        }

        public Duration duration() {
            return duration;
        }

        public String configName() {
            return this == QUOTA_DAY ? "quota-day" : name().toLowerCase(Locale.ROOT);
        }
    }

    public boolean isQuota() {
        return period == Period.QUOTA_DAY;
    }

    /** "10 recipients per minute", "a quota of 5000 recipients per day (UTC)". */
    public String describe() {
        if (isQuota()) {
            return "a quota of " + amount + " " + unit.configName() + " per day (UTC)";
        }
        return amount + " " + unit.configName() + " per " + period.configName();
    }
}
