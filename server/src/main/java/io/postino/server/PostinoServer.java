package io.postino.server;

import org.apache.james.GuiceJamesServer;
import org.apache.james.NaiveDelegationStoreModule;
import org.apache.james.modules.MailetProcessingModule;
import org.apache.james.modules.RunArgumentsModule;
import org.apache.james.modules.protocols.ProtocolHandlerModule;
import org.apache.james.modules.protocols.SMTPServerModule;
import org.apache.james.modules.server.DataRoutesModules;
import org.apache.james.modules.server.DefaultProcessorsConfigurationProviderModule;
import org.apache.james.modules.server.MailQueueRoutesModule;
import org.apache.james.modules.server.MailRepositoriesRoutesModule;
import org.apache.james.modules.server.NoJwtModule;
import org.apache.james.modules.server.RawPostDequeueDecoratorModule;
import org.apache.james.modules.server.TaskManagerModule;
import org.apache.james.modules.server.WebAdminServerModule;
import org.apache.james.server.core.configuration.Configuration;
import org.apache.james.smtpserver.netty.SMTPServerFactory;

import com.google.inject.Module;
import com.google.inject.Scopes;
import com.google.inject.util.Modules;

import io.postino.server.modules.AutoconfigModule;
import io.postino.server.modules.DkimModule;
import io.postino.server.modules.SpoolModule;
import io.postino.server.modules.JpaDataModule;
import io.postino.server.modules.OperationsModule;
import io.postino.server.modules.OrganisationsModule;
import io.postino.server.modules.EventsModule;
import io.postino.server.modules.RateLimitModule;
import io.postino.server.modules.RecipientsModule;
import io.postino.server.modules.TraceModule;
import io.postino.server.modules.WebAdminSecurityModule;
import io.postino.server.pacing.DestinationPacingModule;
import io.postino.server.smtp.listener.PostinoSmtpServerFactory;

/**
 * The single-node Postino server: James' SMTP, mailet container and WebAdmin over a durable
 * embedded queue and an embedded database. A scale-out server swaps the two backend modules.
 */
public final class PostinoServer {
    private static final Module PROTOCOLS = Modules.combine(
        new ProtocolHandlerModule(),
        new SMTPServerModule(),
        new WebAdminServerModule(),
        new NoJwtModule(),
        new DataRoutesModules(),
        new MailQueueRoutesModule(),
        new MailRepositoriesRoutesModule(),
        new TaskManagerModule(),
        new DefaultProcessorsConfigurationProviderModule());

    private static final Module MAIL_PROCESSING = Modules.combine(
        new MailetProcessingModule(),
        new RawPostDequeueDecoratorModule(),
        new NaiveDelegationStoreModule(),
        new OperationsModule(),
        new OrganisationsModule(),
        new RateLimitModule(),
        new EventsModule(),
        new RecipientsModule(),
        new DkimModule(),
        new WebAdminSecurityModule(),
        new AutoconfigModule(),
        new TraceModule());

    private static final Module EMBEDDED_BACKENDS = Modules.combine(
        new JpaDataModule(),
        new SpoolModule());

    private PostinoServer() {
    }

    public static GuiceJamesServer create(Configuration configuration) {
        return GuiceJamesServer.forConfiguration(configuration)
            .combineWith(PROTOCOLS, MAIL_PROCESSING, EMBEDDED_BACKENDS)
            .overrideWith(
                new RunArgumentsModule(new String[0]),
                // RemoteDelivery's outgoing queue, paced per destination domain.
                new DestinationPacingModule(),
                // Mail for relay domains is delivered to the organisation's own server.
                RecipientsModule.DELIVERY_ROUTING,
                // Every WebAdmin request needs a token (WebAdminAccess), not James' open default.
                WebAdminSecurityModule.ACCESS,
                // Postino's SMTP listeners (framing, admission, timeouts, AUTH over TLS only).
                binder -> binder.bind(SMTPServerFactory.class).to(PostinoSmtpServerFactory.class).in(Scopes.SINGLETON));
    }
}
