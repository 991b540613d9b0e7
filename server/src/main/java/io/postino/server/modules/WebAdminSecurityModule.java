package io.postino.server.modules;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Path;

import javax.inject.Singleton;

import org.apache.commons.configuration2.ex.ConfigurationException;
import org.apache.james.utils.PropertiesProvider;
import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.authentication.AuthenticationFilter;

import com.google.inject.AbstractModule;
import com.google.inject.Module;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

import io.postino.server.webadmin.ConsoleRoutes;
import io.postino.server.webadmin.TokenRoutes;
import io.postino.server.webadmin.WebAdminAccess;
import io.postino.server.webadmin.WebAdminGuardRoutes;
import io.postino.server.webadmin.WebAdminOrigins;
import io.postino.server.webadmin.WebAdminTokens;
import io.postino.server.webadmin.WhoAmIRoutes;

/**
 * WebAdmin's credentials (tokens under {@code <data>/webadmin}), its allowed browser origins, the
 * token routes, and the guard over the routes James leaves open. {@link #ACCESS} replaces James'
 * authentication filter (none, with Postino's configuration) and must be installed as an override.
 */
public class WebAdminSecurityModule extends AbstractModule {
    public static final Module ACCESS = binder -> binder.bind(AuthenticationFilter.class).to(WebAdminAccess.class).in(Scopes.SINGLETON);

    @Override
    protected void configure() {
        bind(WebAdminAccess.class).in(Scopes.SINGLETON);
        Multibinder<Routes> routes = Multibinder.newSetBinder(binder(), Routes.class);
        routes.addBinding().to(TokenRoutes.class);
        routes.addBinding().to(WebAdminGuardRoutes.class);
        routes.addBinding().to(ConsoleRoutes.class);
        routes.addBinding().to(WhoAmIRoutes.class);
    }

    @Provides
    @Singleton
    WebAdminTokens tokens() throws IOException {
        return WebAdminTokens.open(Path.of(System.getProperty("postino.data.dir", "var"), "webadmin"));
    }

    @Provides
    @Singleton
    WebAdminOrigins origins(PropertiesProvider properties) throws ConfigurationException {
        try {
            org.apache.commons.configuration2.Configuration webadmin = properties.getConfiguration("webadmin");
            return WebAdminOrigins.parse(webadmin.getString("postino.allowedOrigins", ""), webadmin.getString("host", "localhost"));
        } catch (FileNotFoundException e) {
            return new WebAdminOrigins(java.util.List.of(), "localhost");
        } catch (IllegalArgumentException e) {
            throw new ConfigurationException("conf/webadmin.properties: " + e.getMessage());
        }
    }
}
