package io.postino.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

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
        return String.join(System.lineSeparator() + "  caused by: ", messages) + suspectFile(messages);
    }

    /** The file an operator should open, guessed from what failed. */
    private static String suspectFile(List<String> messages) {
        String all = String.join(" ", messages).toLowerCase(Locale.ROOT);
        if (all.contains("mailet") || all.contains("matcher") || all.contains("processor")) {
            return System.lineSeparator() + "  check: conf/mailetcontainer.xml";
        }
        if (all.contains("handler") || all.contains("smtp") || all.contains("keystore") || all.contains("bind")) {
            return System.lineSeparator() + "  check: conf/smtpserver.xml";
        }
        if (all.contains("jdbc") || all.contains("database") || all.contains("openjpa")) {
            return System.lineSeparator() + "  check: conf/james-database.properties";
        }
        return "";
    }
}
