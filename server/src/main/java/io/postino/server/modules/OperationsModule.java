package io.postino.server.modules;

import org.apache.james.adapter.mailbox.UserRepositoryAuthorizator;
import org.apache.james.mailbox.Authorizator;
import org.apache.james.webadmin.Routes;

import com.google.inject.AbstractModule;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

import io.postino.server.metrics.PostinoMetrics;
import io.postino.server.metrics.PrometheusRoutes;

/**
 * What an operator and the SMTP AUTH hook need besides the data and queue backends: the
 * Prometheus {@code GET /metrics} route on WebAdmin (Postino's own, in place of James'), and the authorizator that SMTP AUTH asks
 * (a user may only act as itself: Postino has no delegation).
 */
public class OperationsModule extends AbstractModule {
    @Override
    protected void configure() {
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(PrometheusRoutes.class);
        bind(PostinoMetrics.class).in(Scopes.SINGLETON);
        bind(UserRepositoryAuthorizator.class).in(Scopes.SINGLETON);
        bind(Authorizator.class).to(UserRepositoryAuthorizator.class);
    }
}
