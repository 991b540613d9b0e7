package io.postino.server.autoconfig;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import javax.annotation.PreDestroy;
import javax.inject.Inject;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.eclipse.jetty.server.ConnectionLimit;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.server.handler.AbstractHandler;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.server.TlsCertificate;
import io.postino.server.smtp.listener.CertificateWatcher;

/**
 * The HTTPS listener of the mail client autoconfiguration ({@link AutoconfigRequests}): its own
 * small Jetty on {@code POSTINO_BIND:POSTINO_AUTOCONFIG_PORT} (443 by default; {@code off}: none),
 * apart from WebAdmin, which stays on 127.0.0.1 with its tokens while clients on the Internet
 * need these documents without any. It uses the SMTP listeners' certificate (POSTINO_TLS_* or
 * the generated pair), TLS 1.2 and 1.3 only, and picks a renewed certificate up as they do
 * ({@link CertificateWatcher}). A name the certificate does not cover is still answered
 * (no SNI check): the client decides whether it trusts the certificate for that name.
 */
public class AutoconfigServer implements org.apache.james.lifecycle.api.Startable {
    private static final Logger LOGGER = LoggerFactory.getLogger(AutoconfigServer.class);
    private static final char[] KEY_STORE_PASSWORD = "postino".toCharArray();
    static final int MAX_CONNECTIONS = 256;

    private final AutoconfigRequests requests;
    private Server server;
    private CertificateWatcher watcher;

    @Inject
    public AutoconfigServer(AutoconfigDirectory directory) {
        this.requests = new AutoconfigRequests(directory);
    }

    /** Starts the listener, unless POSTINO_AUTOCONFIG_PORT is off. */
    public void start() throws Exception {
        String port = System.getProperty("postino.autoconfig.port", "off");
        if (port.equals("off")) {
            LOGGER.info("Mail client autoconfiguration is off (POSTINO_AUTOCONFIG_PORT=off)");
            return;
        }
        Path certificate = file(System.getProperty("postino.tls.certificate"));
        Path privateKey = file(System.getProperty("postino.tls.privatekey"));
        SslContextFactory.Server tls = new SslContextFactory.Server();
        tls.setKeyStore(TlsCertificate.keyStore(certificate, privateKey, KEY_STORE_PASSWORD));
        tls.setKeyStorePassword(new String(KEY_STORE_PASSWORD));
        tls.setIncludeProtocols("TLSv1.3", "TLSv1.2");
        tls.setSniRequired(false);

        QueuedThreadPool threads = new QueuedThreadPool(16, 2);
        threads.setName("postino-autoconfig");
        server = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        http.addCustomizer(new SecureRequestCustomizer(false));
        ServerConnector connector = new ServerConnector(server, 1, 1, new SslConnectionFactory(tls, "http/1.1"), new HttpConnectionFactory(http));
        connector.setHost(System.getProperty("postino.bind", "0.0.0.0"));
        connector.setPort(Integer.parseInt(port));
        connector.setIdleTimeout(20_000);
        server.addConnector(connector);
        // Clients keep no connection open between documents: a few hundred is plenty, and a flood of idle ones stops here.
        server.addBean(new ConnectionLimit(MAX_CONNECTIONS, connector));
        server.setHandler(new Handler());
        server.setStopTimeout(2_000);
        server.start();

        watcher = new CertificateWatcher("autoconfiguration (HTTPS)", List.of(certificate, privateKey),
            () -> TlsCertificate.unusableRenewal(certificate, privateKey, Instant.now()),
            () -> tls.reload(factory -> factory.setKeyStore(keyStore(certificate, privateKey))));
        watcher.start();
        LOGGER.info("Mail client autoconfiguration on https://{}:{} (Thunderbird, Outlook autodiscover, Apple .mobileconfig)",
            connector.getHost(), connector.getLocalPort());
    }

    private static java.security.KeyStore keyStore(Path certificate, Path privateKey) {
        try {
            return TlsCertificate.keyStore(certificate, privateKey, KEY_STORE_PASSWORD);
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** The listeners' TLS files are given as {@code file://} URLs (for James), or as paths. */
    private static Path file(String value) {
        if (value == null || value.isEmpty()) {
            throw new IllegalStateException("No TLS certificate for the autoconfiguration listener (postino.tls.* not set)");
        }
        return Path.of(value.startsWith("file://") ? value.substring("file://".length()) : value);
    }

    @PreDestroy
    public void stop() throws Exception {
        if (watcher != null) {
            watcher.stop();
        }
        if (server != null) {
            server.stop();
        }
    }

    private final class Handler extends AbstractHandler {
        @Override
        public void handle(String target, Request base, HttpServletRequest request, HttpServletResponse response) throws IOException {
            base.setHandled(true);
            AutoconfigRequests.Answer answer;
            try {
                String path = request.getPathInfo() == null ? request.getRequestURI() : request.getPathInfo();
                answer = requests.answer(request.getMethod(), path, request::getParameter, request.getServerName(), request.getInputStream());
            } catch (RuntimeException e) {
                LOGGER.warn("Autoconfiguration request {} {} failed", request.getMethod(), request.getRequestURI(), e);
                answer = AutoconfigRequests.Answer.text(500, "Internal error: " + e.getClass().getSimpleName());
            }
            response.setStatus(answer.status());
            response.setContentType(answer.contentType());
            response.setHeader("Cache-Control", "no-cache");
            response.setHeader("X-Content-Type-Options", "nosniff");
            answer.headers().forEach(response::setHeader);
            response.setContentLength(answer.body().length);
            response.getOutputStream().write(answer.body());
        }
    }
}
