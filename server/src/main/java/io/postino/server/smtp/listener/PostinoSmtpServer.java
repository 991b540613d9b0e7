package io.postino.server.smtp.listener;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.List;

import org.apache.commons.configuration2.HierarchicalConfiguration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.commons.configuration2.tree.ImmutableNode;
import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.ProtocolTransport;
import org.apache.james.protocols.lib.handler.HandlersPackage;
import org.apache.james.protocols.netty.AbstractChannelPipelineFactory;
import org.apache.james.protocols.netty.ChannelHandlerFactory;
import org.apache.james.protocols.netty.Encryption;
import org.apache.james.protocols.netty.HandlerConstants;
import org.apache.james.protocols.smtp.SMTPConfiguration;
import org.apache.james.protocols.smtp.SMTPProtocol;
import org.apache.james.smtpserver.ExtendedSMTPSession;
import org.apache.james.smtpserver.netty.SMTPServer;
import org.apache.james.smtpserver.netty.SmtpMetrics;

import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.postino.server.TlsCertificate;
import io.postino.server.metrics.PostinoMetrics;
import io.postino.server.smtp.PostinoCoreHandlers;

/**
 * One SMTP listener of Postino: James' {@code SMTPServer} (same {@code <smtpserver>}
 * configuration) with Postino's connection handling.
 *
 * <ul>
 *   <li>Framing ({@link SmtpFramer}): command lines up to 12,290 octets (each command's own limit is
 *   checked later), DATA lines up to 64 KiB (a longer one refuses the message instead of silently
 *   losing the line, as James did), and BDAT chunks as raw octets.</li>
 *   <li>Commands and hooks run on the listener's executor ({@code maxExecutorCount} threads, default
 *   16), not on netty's I/O threads, so a slow hook cannot stall every connection of an I/O
 *   thread; TLS stays on the I/O threads.</li>
 *   <li>Admission and timeouts ({@link ConnectionGuard}, {@link ConnectionBudget}):
 *   {@code connectionLimit}, {@code connectionLimitPerIP} with a share that shrinks as the listener
 *   fills, a refused client gets {@code 421}; {@code connectiontimeout} (idle) shortens under load;
 *   {@code transactionTimeout} (seconds, default 600) bounds one DATA or BDAT transaction.</li>
 *   <li>TLS handshakes end within 10 s ({@link TunedEncryption}); STARTTLS cannot be followed by
 *   injected commands ({@link FramerControl}); a changed certificate file is picked up without
 *   restart ({@link CertificateWatcher}).</li>
 *   <li>The core command handlers are {@link PostinoCoreHandlers}: James' with Postino's command
 *   checks, AUTH and BDAT.</li>
 * </ul>
 */
public class PostinoSmtpServer extends SMTPServer {
    private static final Duration DEFAULT_TRANSACTION_TIMEOUT = Duration.ofMinutes(10);

    private final SmtpMetrics smtpMetrics;
    private final PostinoMetrics postinoMetrics;
    private SMTPProtocol protocol;
    private Duration transactionTimeout = DEFAULT_TRANSACTION_TIMEOUT;
    private ConnectionBudget budget;
    /** Connections of all listeners together; {@code -Dpostino.smtp.maxConnections} changes it. */
    private int processConnectionLimit = ConnectionLimits.DEFAULT_PROCESS_LIMIT;
    private ListenerMetrics listenerMetrics;
    private volatile Encryption wrapped;
    private volatile TunedEncryption tuned;

    private final FileSystem fileSystem;
    private List<String> tlsFiles = List.of();
    private String certificatesUrl;
    private String privateKeyUrl;
    private CertificateWatcher certificateWatcher;

    public PostinoSmtpServer(SmtpMetrics smtpMetrics, PostinoMetrics postinoMetrics, FileSystem fileSystem) {
        super(smtpMetrics);
        this.smtpMetrics = smtpMetrics;
        this.postinoMetrics = postinoMetrics;
        this.fileSystem = fileSystem;
    }

    @Override
    public void doConfigure(HierarchicalConfiguration<ImmutableNode> configuration) throws ConfigurationException {
        super.doConfigure(configuration);
        if (isEnabled()) {
            long seconds = configuration.getLong("transactionTimeout", DEFAULT_TRANSACTION_TIMEOUT.toSeconds());
            if (seconds <= 0) {
                throw new ConfigurationException("<transactionTimeout> must be a positive number of seconds, got " + seconds);
            }
            transactionTimeout = Duration.ofSeconds(seconds);
            // James has read them already, but took a malformed value for "no limit".
            for (String element : List.of("connectionLimit", "connectionLimitPerIP")) {
                String raw = configuration.getString(element, null);
                if (raw != null) {
                    limit("conf/smtpserver.xml: <smtpserver> " + jmxName + ": ", () -> ConnectionLimits.listenerLimit(element, raw));
                }
            }
            processConnectionLimit = limit("", () -> ConnectionLimits.processLimit(System.getProperty(ConnectionLimits.PROCESS_PROPERTY)));
            certificatesUrl = configuration.getString("tls.certificates", null);
            privateKeyUrl = configuration.getString("tls.privateKey", null);
            tlsFiles = Stream.of("tls.certificates", "tls.privateKey", "tls.keystore")
                .map(key -> configuration.getString(key, null))
                .filter(Objects::nonNull)
                .toList();
        }
    }

    private static int limit(String where, java.util.function.IntSupplier parse) throws ConfigurationException {
        try {
            return parse.getAsInt();
        } catch (IllegalArgumentException e) {
            throw new ConfigurationException(where + e.getMessage());
        }
    }

    @Override
    protected void preInit() throws Exception {
        super.preInit();
        SMTPConfiguration configuration = new SMTPHandlerConfigurationDataImpl();
        protocol = new SMTPProtocol(getProtocolHandlerChain(), configuration) {
            @Override
            public ProtocolSession newSession(ProtocolTransport transport) {
                return new ExtendedSMTPSession(configuration, transport);
            }
        };
        budget = new ConnectionBudget(connectionLimit, connPerIP, processConnectionLimit, getTimeout());
        listenerMetrics = new ListenerMetrics(postinoMetrics, jmxName);
        if (getEncryption() != null && !tlsFiles.isEmpty()) {
            List<Path> files = new ArrayList<>();
            for (String url : tlsFiles) {
                files.add(fileSystem.getFile(url).toPath());
            }
            certificateWatcher = new CertificateWatcher(jmxName, files, renewalCheck(), this::reloadSSLCertificate);
            certificateWatcher.start();
        }
    }

    /**
     * James' reload takes a PEM pair whose key belongs to another certificate, and then every
     * handshake fails: the pair is checked first, as at start-up. A keystore holds its pairs
     * together and James refuses one it cannot open.
     */
    private CertificateWatcher.Check renewalCheck() throws Exception {
        if (certificatesUrl == null || privateKeyUrl == null) {
            return Optional::empty;
        }
        Path certificates = fileSystem.getFile(certificatesUrl).toPath();
        Path privateKey = fileSystem.getFile(privateKeyUrl).toPath();
        return () -> TlsCertificate.unusableRenewal(certificates, privateKey, Instant.now());
    }

    /**
     * Whether this is a submission listener: one whose handler chain refuses mail before AUTH
     * ({@link io.postino.server.smtp.RequireAuthentication}). The client autoconfiguration
     * documents name these listeners, and only these.
     */
    public boolean requiresAuthentication() {
        return getProtocolHandlerChain() != null
            && !getProtocolHandlerChain().getHandlers(io.postino.server.smtp.RequireAuthentication.class).isEmpty();
    }

    /** TLS from the first byte (port 465, {@code socketTLS="true"}), not STARTTLS. */
    public boolean implicitTls() {
        return getEncryption() != null && getEncryption().supportsEncryption() && !getEncryption().isStartTLS();
    }

    /** STARTTLS is offered ({@code startTLS="true"}). */
    public boolean startTls() {
        return getEncryption() != null && getEncryption().isStartTLS();
    }

    @Override
    protected void postDestroy() {
        if (certificateWatcher != null) {
            certificateWatcher.stop();
        }
        super.postDestroy();
    }

    @Override
    protected Class<? extends HandlersPackage> getCoreHandlersPackage() {
        return PostinoCoreHandlers.class;
    }

    /** Without the JMX monitors: they fail on a command answered later, and Postino does not use JMX. */
    @Override
    protected Class<? extends HandlersPackage> getJMXHandlersPackage() {
        return NoHandlers.class;
    }

    /** An empty handlers package. */
    public static final class NoHandlers implements HandlersPackage {
        @Override
        public List<String> getHandlers() {
            return List.of();
        }
    }

    @Override
    protected Encryption getEncryption() {
        Encryption current = super.getEncryption();
        if (current == null) {
            return null;
        }
        if (current != wrapped) {
            synchronized (this) {
                if (current != wrapped) {
                    tuned = new TunedEncryption(current);
                    wrapped = current;
                }
            }
        }
        return tuned;
    }

    @Override
    protected ChannelInboundHandlerAdapter createCoreHandler() {
        return new PostinoChannelHandler(protocol, (TunedEncryption) getEncryption(), proxyRequired, smtpMetrics, listenerMetrics);
    }

    @Override
    protected ChannelHandlerFactory createFrameHandlerFactory() {
        return pipeline -> {
            FramerControl control = new FramerControl();
            pipeline.channel().attr(FramerControl.KEY).set(control);
            return new SmtpFramer(control);
        };
    }

    @Override
    protected AbstractChannelPipelineFactory createPipelineFactory() {
        return new AbstractChannelPipelineFactory<SocketChannel>(getFrameHandlerFactory(), getExecutorGroup()) {
            @Override
            protected void initChannel(SocketChannel channel) {
                ChannelPipeline pipeline = channel.pipeline();
                Encryption encryption = getEncryption();
                boolean implicitTls = encryption != null && encryption.supportsEncryption() && !encryption.isStartTLS();
                if (proxyRequired) {
                    pipeline.addLast(HandlerConstants.PROXY_HANDLER, new HAProxyMessageDecoder());
                }
                if (implicitTls) {
                    pipeline.addFirst(HandlerConstants.SSL_HANDLER, encryption.sslHandler());
                }
                pipeline.addLast(InputMeter.NAME, new InputMeter());
                // Framer, guard and session on one executor thread per connection, in this order.
                pipeline.addLast(getExecutorGroup(), HandlerConstants.FRAMER, getFrameHandlerFactory().create(pipeline));
                pipeline.addLast(getExecutorGroup(), "postinoGuard",
                    new ConnectionGuard(budget, transactionTimeout, implicitTls, listenerMetrics));
                pipeline.addLast(getExecutorGroup(), HandlerConstants.CORE_HANDLER, createHandler());
            }

            @Override
            protected ChannelInboundHandlerAdapter createHandler() {
                return createCoreHandler();
            }
        };
    }
}
