package io.postino.server.modules;

import java.nio.file.Path;

import javax.inject.Singleton;

import org.apache.james.webadmin.Routes;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

import io.postino.dkim.DkimKeys;
import io.postino.server.dkim.DkimPublication;
import io.postino.server.dkim.DkimRoutes;
import io.postino.server.dkim.FileDkimKeys;

/** DKIM keys of the sender domains, under {@code <data>/dkim}, and their WebAdmin routes. */
public class DkimModule extends AbstractModule {
    @Override
    protected void configure() {
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(DkimRoutes.class);
        bind(DkimPublication.class).in(Scopes.SINGLETON);
    }

    @Provides
    @Singleton
    DkimKeys keys() {
        return new FileDkimKeys(Path.of(System.getProperty("postino.data.dir", "var"), "dkim"));
    }
}
