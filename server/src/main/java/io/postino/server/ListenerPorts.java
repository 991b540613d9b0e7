package io.postino.server;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

import io.postino.server.PostinoSettings.Variable;

/**
 * Tries each port the server is about to listen on, so that a port already in use or reserved
 * for root is reported with its name and the variable that changes it.
 */
final class ListenerPorts {
    private ListenerPorts() {
    }

    static void checkAvailable(PostinoSettings settings) throws PostinoSettings.InvalidSettingException {
        check(settings.bindAddress(), settings.port(Variable.SMTP_PORT), "SMTP", Variable.SMTP_PORT);
        check(settings.bindAddress(), settings.port(Variable.SUBMISSION_PORT), "submission", Variable.SUBMISSION_PORT);
        check(settings.bindAddress(), settings.port(Variable.SMTPS_PORT), "SMTPS", Variable.SMTPS_PORT);
        check("127.0.0.1", settings.port(Variable.WEBADMIN_PORT), "WebAdmin", Variable.WEBADMIN_PORT);
        if (settings.autoconfigPort().isPresent()) {
            check(settings.bindAddress(), settings.autoconfigPort().getAsInt(), "mail client autoconfiguration (HTTPS)", Variable.AUTOCONFIG_PORT);
        }
    }

    private static void check(String address, int port, String name, Variable variable) throws PostinoSettings.InvalidSettingException {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getByName(address), port));
        } catch (IOException e) {
            String hint = port < 1024 ? " Ports below 1024 need root or CAP_NET_BIND_SERVICE." : "";
            throw new PostinoSettings.InvalidSettingException("Cannot listen for " + name + " on " + address + ":" + port
                + " (" + e.getMessage() + ")." + hint + " Set " + variable.environment + " to another port"
                + (variable == Variable.AUTOCONFIG_PORT ? " (or off)" : "") + ", or stop what uses this one.");
        }
    }
}
