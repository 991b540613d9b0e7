package io.postino.server;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns the exception chain of a failed James start into the sentences an operator needs:
 * each distinct message from the outermost to the root cause.
 */
final class StartupFailure {
    private StartupFailure() {
    }

    static String describe(Throwable failure) {
        List<String> messages = new ArrayList<>();
        for (Throwable cause = failure; cause != null && messages.size() < 8; cause = cause.getCause()) {
            String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage().strip();
            if (messages.stream().noneMatch(known -> known.contains(message))) {
                messages.add(message);
            }
            if (cause.getCause() == cause) {
                break;
            }
        }
        return String.join(System.lineSeparator() + "  caused by: ", messages);
    }
}
