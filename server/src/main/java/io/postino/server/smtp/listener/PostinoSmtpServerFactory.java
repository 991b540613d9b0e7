package io.postino.server.smtp.listener;

import javax.inject.Inject;

import org.apache.james.dnsservice.api.DNSService;
import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.protocols.lib.handler.ProtocolHandlerLoader;
import org.apache.james.smtpserver.netty.SMTPServer;
import org.apache.james.smtpserver.netty.SMTPServerFactory;

import io.postino.server.metrics.PostinoMetrics;

/** Builds Postino's listeners ({@link PostinoSmtpServer}) from {@code smtpserver.xml}. */
public class PostinoSmtpServerFactory extends SMTPServerFactory {
    private final PostinoMetrics postinoMetrics;

    @Inject
    public PostinoSmtpServerFactory(DNSService dns, ProtocolHandlerLoader loader, FileSystem fileSystem, MetricFactory metricFactory,
                                    PostinoMetrics postinoMetrics) {
        super(dns, loader, fileSystem, metricFactory);
        this.postinoMetrics = postinoMetrics;
    }

    @Override
    protected SMTPServer createServer() {
        return new PostinoSmtpServer(smtpMetrics, postinoMetrics, fileSystem);
    }
}
