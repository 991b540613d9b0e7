package io.postino.server.modules;

import java.io.FileNotFoundException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import javax.inject.Singleton;
import javax.persistence.EntityManagerFactory;
import javax.persistence.Persistence;

import org.apache.commons.configuration2.Configuration;
import org.apache.commons.configuration2.BaseHierarchicalConfiguration;
import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.CoreDataModule;
import org.apache.james.core.healthcheck.HealthCheck;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.domainlist.jpa.JPADomainList;
import org.apache.james.domainlist.lib.DomainListConfiguration;

import io.postino.server.recipients.CachedDomainList;
import org.apache.james.jpa.healthcheck.JPAHealthCheck;
import org.apache.james.mailrepository.api.MailRepositoryUrlStore;
import org.apache.james.mailrepository.api.Protocol;
import org.apache.james.mailrepository.jpa.JPAMailRepository;
import org.apache.james.mailrepository.jpa.JPAMailRepositoryUrlStore;
import org.apache.james.mailrepository.memory.MailRepositoryStoreConfiguration;
import org.apache.james.rrt.api.AliasReverseResolver;
import org.apache.james.rrt.api.CanSendFrom;
import org.apache.james.rrt.api.RecipientRewriteTable;
import org.apache.james.rrt.jpa.JPARecipientRewriteTable;
import org.apache.james.rrt.lib.AliasReverseResolverImpl;
import org.apache.james.rrt.lib.CanSendFromImpl;
import org.apache.james.user.api.UsersRepository;
import org.apache.james.user.jpa.JPAUsersRepository;
import org.apache.james.utils.InitializationOperation;
import org.apache.james.utils.InitilizationOperationBuilder;
import org.apache.james.utils.PropertiesProvider;
import org.apache.james.server.core.configuration.ConfigurationProvider;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.multibindings.ProvidesIntoSet;

/**
 * Domains, users, aliases and mail repositories in a relational database through James' JPA
 * stores. The default database is an embedded H2 file under the data directory; any JDBC
 * database OpenJPA supports works by changing {@code conf/james-database.properties}.
 */
public class JpaDataModule extends AbstractModule {
    private static final String DATABASE_FILE = "james-database";

    @Override
    protected void configure() {
        install(new CoreDataModule());

        bind(JPADomainList.class).in(Scopes.SINGLETON);
        bind(JPAUsersRepository.class).in(Scopes.SINGLETON);
        bind(UsersRepository.class).to(JPAUsersRepository.class);
        bind(JPARecipientRewriteTable.class).in(Scopes.SINGLETON);
        bind(RecipientRewriteTable.class).to(JPARecipientRewriteTable.class);
        bind(AliasReverseResolverImpl.class).in(Scopes.SINGLETON);
        bind(AliasReverseResolver.class).to(AliasReverseResolverImpl.class);
        bind(CanSendFromImpl.class).in(Scopes.SINGLETON);
        bind(CanSendFrom.class).to(CanSendFromImpl.class);

        bind(JPAMailRepositoryUrlStore.class).in(Scopes.SINGLETON);
        bind(MailRepositoryUrlStore.class).to(JPAMailRepositoryUrlStore.class);

        Multibinder.newSetBinder(binder(), HealthCheck.class).addBinding().to(JPAHealthCheck.class);
    }

    /** The served domains from memory, refreshed in the background: no database query per RCPT TO or per mail. */
    @Provides
    @Singleton
    DomainList domainList(JPADomainList database) {
        return new CachedDomainList(database, Duration.ofSeconds(10));
    }

    @Provides
    @Singleton
    EntityManagerFactory entityManagerFactory(PropertiesProvider propertiesProvider) throws FileNotFoundException, ConfigurationException {
        Configuration database = propertiesProvider.getConfiguration(DATABASE_FILE);
        Map<String, String> properties = new HashMap<>();
        properties.put("openjpa.ConnectionDriverName", required(database, "database.driverClassName"));
        properties.put("openjpa.ConnectionURL", required(database, "database.url"));
        properties.put("openjpa.ConnectionUserName", database.getString("database.username", ""));
        properties.put("openjpa.ConnectionPassword", database.getString("database.password", ""));
        // Pooled (DBCP) with every connection checked before use, so that a database restarted,
        // or back after a full disk, is used again without restarting Postino.
        properties.put("openjpa.ConnectionDriverName", "org.apache.commons.dbcp2.BasicDataSource");
        properties.put("openjpa.ConnectionProperties", "DriverClassName=" + required(database, "database.driverClassName")
            + ",Url=" + DatabaseTimeouts.url(required(database, "database.url"))
            + ",Username=" + database.getString("database.username", "")
            + ",Password=" + database.getString("database.password", "")
            + ",MaxTotal=16,TestOnBorrow=true,ValidationQueryTimeout=2,MaxWaitMillis=5000");
        for (Iterator<String> keys = database.getKeys("openjpa"); keys.hasNext(); ) {
            String key = keys.next();
            properties.put(key, database.getString(key));
        }
        return Persistence.createEntityManagerFactory("Global", properties);
    }

    private static String required(Configuration configuration, String key) throws ConfigurationException {
        String value = configuration.getString(key, null);
        if (value == null || value.isBlank()) {
            throw new ConfigurationException("conf/" + DATABASE_FILE + ".properties: '" + key + "' is required");
        }
        return value;
    }

    @ProvidesIntoSet
    InitializationOperation configureDomainList(DomainListConfiguration configuration, JPADomainList domainList) {
        return InitilizationOperationBuilder.forClass(JPADomainList.class)
            .init(() -> domainList.configure(configuration));
    }

    @ProvidesIntoSet
    InitializationOperation configureUsers(ConfigurationProvider configurationProvider, JPAUsersRepository users) {
        return InitilizationOperationBuilder.forClass(JPAUsersRepository.class)
            .init(() -> users.configure(configurationProvider.getConfiguration("usersrepository")));
    }

    @ProvidesIntoSet
    InitializationOperation configureAliases(ConfigurationProvider configurationProvider, JPARecipientRewriteTable aliases) {
        return InitilizationOperationBuilder.forClass(JPARecipientRewriteTable.class)
            .init(() -> aliases.configure(configurationProvider.getConfiguration("recipientrewritetable")));
    }
}
