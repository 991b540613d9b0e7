package io.postino.server.modules;

import javax.inject.Singleton;

import org.apache.james.utils.InitializationOperation;
import org.apache.james.utils.InitilizationOperationBuilder;
import org.apache.james.webadmin.Routes;

import com.google.inject.AbstractModule;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.multibindings.ProvidesIntoSet;

import io.postino.server.autoconfig.AutoconfigDirectory;
import io.postino.server.autoconfig.AutoconfigRecordsRoutes;
import io.postino.server.autoconfig.AutoconfigServer;

/**
 * Mail client autoconfiguration: the HTTPS listener serving Thunderbird's, Outlook's and Apple's
 * documents, and WebAdmin's DNS records to publish for them.
 */
public class AutoconfigModule extends AbstractModule {
    @Override
    protected void configure() {
        bind(AutoconfigDirectory.class).in(Scopes.SINGLETON);
        bind(AutoconfigServer.class).in(Singleton.class);
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(AutoconfigRecordsRoutes.class);
    }

    @ProvidesIntoSet
    InitializationOperation startAutoconfig(AutoconfigServer server) {
        return InitilizationOperationBuilder.forClass(AutoconfigServer.class).init(server::start);
    }
}
