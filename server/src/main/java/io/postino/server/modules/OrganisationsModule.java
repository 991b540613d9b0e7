package io.postino.server.modules;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Path;

import javax.inject.Singleton;

import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.utils.InitializationOperation;
import org.apache.james.utils.InitilizationOperationBuilder;
import org.apache.james.webadmin.Routes;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.multibindings.ProvidesIntoSet;

import io.postino.organisations.Organisations;
import io.postino.organisations.OrganisationsException;
import io.postino.server.organisations.OrganisationRoutes;
import io.postino.server.organisations.OrganisationsWatcher;
import io.postino.server.users.DisabledUserRoutes;
import io.postino.server.users.DisabledUsers;

/**
 * Organisations (conf/organisations.xml), reloaded when the file changes, their WebAdmin routes,
 * and the per-node AUTH failure counts used by the lockout hook; the disabled users
 * ({@code <data>/store/disabled-users.txt}) and their routes.
 */
public class OrganisationsModule extends AbstractModule {
    static final String FILE = "file://conf/organisations.xml";

    @Override
    protected void configure() {
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(OrganisationRoutes.class);
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(DisabledUserRoutes.class);
    }

    @Provides
    @Singleton
    Organisations organisations(FileSystem fileSystem) throws OrganisationsException, FileNotFoundException {
        return Organisations.load(fileSystem.getFile(FILE).toPath());
    }

    @Provides
    @Singleton
    OrganisationsWatcher watcher(Organisations organisations, FileSystem fileSystem) throws FileNotFoundException {
        return new OrganisationsWatcher(organisations, fileSystem.getFile(FILE).toPath());
    }

    @Provides
    @Singleton
    DisabledUsers disabledUsers() throws IOException {
        return DisabledUsers.keptIn(Path.of(System.getProperty("postino.data.dir", "var"), "store", DisabledUsers.FILE));
    }

    @ProvidesIntoSet
    InitializationOperation watchOrganisations(OrganisationsWatcher watcher) {
        return InitilizationOperationBuilder.forClass(OrganisationsWatcher.class).init(watcher::start);
    }
}
