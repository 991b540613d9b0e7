package io.postino.server.modules;

import java.io.FileNotFoundException;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.inject.Singleton;

import org.apache.commons.configuration2.BaseConfiguration;
import org.apache.commons.configuration2.Configuration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.commons.dbcp2.BasicDataSource;
import org.apache.james.dnsservice.api.DNSService;
import org.apache.james.utils.PropertiesProvider;
import org.apache.james.webadmin.Routes;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.Provides;
import com.google.inject.multibindings.Multibinder;

import io.postino.recipients.RecipientDomains;
import io.postino.recipients.RelayRecipients;
import io.postino.recipients.SuppressionList;
import io.postino.server.recipients.CalloutRelayRecipients;
import io.postino.server.recipients.DnsRecipientDomains;
import io.postino.server.recipients.JdbcSuppressionList;
import io.postino.server.recipients.RecipientSettings;
import io.postino.server.recipients.RelayDomainRouting;
import io.postino.server.recipients.SuppressionRoutes;

/**
 * Recipient checks (conf/recipients.properties): DNS checks of outbound domains, callouts to the
 * servers of relay domains, and suppression lists in the database with their WebAdmin routes.
 * {@link #DELIVERY_ROUTING} overrides James' DNS service so that mail for relay domains is
 * delivered to the organisation's server.
 */
public class RecipientsModule extends AbstractModule {
    /** Replaces James' binding of {@link DNSService}: install with {@code overrideWith}. */
    public static final Module DELIVERY_ROUTING = binder -> binder.bind(DNSService.class).to(RelayDomainRouting.class);

    private static final int CALLOUT_THREADS = 32;
    /** Probes waiting for a thread; beyond this, RCPTs to relay domains get 450 at once. */
    private static final int CALLOUT_QUEUE = 1000;

    @Override
    protected void configure() {
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(SuppressionRoutes.class);
    }

    @Provides
    @Singleton
    RecipientSettings settings(PropertiesProvider properties) throws ConfigurationException {
        Configuration configuration;
        try {
            configuration = properties.getConfiguration("recipients");
        } catch (FileNotFoundException e) {
            configuration = new BaseConfiguration();
        }
        try {
            return RecipientSettings.from(configuration);
        } catch (IllegalArgumentException e) {
            throw new ConfigurationException("conf/" + RecipientSettings.FILE + ": " + e.getMessage());
        }
    }

    @Provides
    @Singleton
    RecipientDomains recipientDomains(RecipientSettings settings) {
        return new DnsRecipientDomains(settings);
    }

    @Provides
    @Singleton
    CalloutRelayRecipients callouts(RecipientSettings settings) {
        AtomicInteger count = new AtomicInteger();
        ExecutorService executor = new ThreadPoolExecutor(CALLOUT_THREADS, CALLOUT_THREADS, 60, TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(CALLOUT_QUEUE),
            task -> {
                Thread thread = new Thread(task, "postino-callout-" + count.incrementAndGet());
                thread.setDaemon(true);
                return thread;
            });
        ((ThreadPoolExecutor) executor).allowCoreThreadTimeOut(true);
        return CalloutRelayRecipients.create(settings, System.getProperty("postino.hostname", "localhost"), executor);
    }

    @Provides
    @Singleton
    RelayRecipients relayRecipients(CalloutRelayRecipients callouts) {
        return callouts;
    }

    /** In the database of conf/james-database.properties, beside James' domains and users. */
    @Provides
    @Singleton
    JdbcSuppressionList suppressions(PropertiesProvider properties, RecipientSettings settings) throws FileNotFoundException, ConfigurationException {
        Configuration database = properties.getConfiguration("james-database");
        BasicDataSource dataSource = new BasicDataSource();
        dataSource.setDriverClassName(database.getString("database.driverClassName"));
        dataSource.setUrl(DatabaseTimeouts.url(database.getString("database.url")));
        dataSource.setUsername(database.getString("database.username", ""));
        dataSource.setPassword(database.getString("database.password", ""));
        dataSource.setMaxTotal(16);
        // A connection broken by a database restart or a full disk is dropped, not handed out again.
        dataSource.setTestOnBorrow(true);
        dataSource.setValidationQueryTimeout(2);
        dataSource.setMaxWaitMillis(5000);
        return new JdbcSuppressionList(dataSource, settings.suppressionCacheTtl(), Clock.systemUTC());
    }

    @Provides
    @Singleton
    SuppressionList suppressionList(JdbcSuppressionList suppressions) {
        return suppressions;
    }
}
