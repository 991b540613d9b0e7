package io.postino.server.smtp;

import java.time.Duration;
import java.util.Optional;

import org.apache.james.core.Username;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.AuthHook;
import org.apache.james.protocols.smtp.hook.HookResult;

/**
 * An AUTH hook that decides, before any password is checked, whether and when an attempt is
 * checked at all: {@link AuthOverTlsCmdHandler} asks it first, then waits (without holding a
 * thread) or refuses, then calls {@link #doAuth}.
 */
public interface PacedAuthHook extends AuthHook {
    /** Check now, check after {@code delay}, or refuse with {@code refusal} without checking. */
    record Admission(Duration delay, Optional<HookResult> refusal) {
        public static final Admission NOW = new Admission(Duration.ZERO, Optional.empty());

        public static Admission after(Duration delay) {
            return new Admission(delay, Optional.empty());
        }

        public static Admission refused(HookResult refusal) {
            return new Admission(Duration.ZERO, Optional.of(refusal));
        }
    }

    Admission admit(SMTPSession session, Username username);
}
