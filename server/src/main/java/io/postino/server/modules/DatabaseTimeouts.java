package io.postino.server.modules;

import java.util.Locale;

/**
 * Time limits for a network database (PostgreSQL, MariaDB/MySQL), added to its JDBC URL unless the
 * admin set them: a database that hangs (stopped, not down: the port accepts, nothing answers)
 * must fail a connection or a query within seconds, not hold the threads that answer SMTP until
 * the operating system gives up. Embedded H2 is left as it is.
 */
final class DatabaseTimeouts {
    /** Seconds: to connect and log in; for one answer of the server. */
    static final int CONNECT = 5;
    static final int SOCKET = 15;

    private DatabaseTimeouts() {
    }

    static String url(String url) {
        String lower = url.toLowerCase(Locale.ROOT);
        if (lower.startsWith("jdbc:postgresql:")) {
            return with(url, "connectTimeout=" + CONNECT, "loginTimeout=" + CONNECT, "socketTimeout=" + SOCKET);
        }
        if (lower.startsWith("jdbc:mariadb:") || lower.startsWith("jdbc:mysql:")) {
            return with(url, "connectTimeout=" + CONNECT * 1000, "socketTimeout=" + SOCKET * 1000);
        }
        return url;
    }

    private static String with(String url, String... parameters) {
        StringBuilder result = new StringBuilder(url);
        String lower = url.toLowerCase(Locale.ROOT);
        for (String parameter : parameters) {
            String name = parameter.substring(0, parameter.indexOf('=') + 1).toLowerCase(Locale.ROOT);
            if (!lower.contains("?" + name) && !lower.contains("&" + name)) {
                result.append(result.indexOf("?") < 0 ? '?' : '&').append(parameter);
            }
        }
        return result.toString();
    }
}
