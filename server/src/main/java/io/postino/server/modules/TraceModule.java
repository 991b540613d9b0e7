package io.postino.server.modules;

import org.apache.james.webadmin.Routes;

import com.google.inject.AbstractModule;
import com.google.inject.multibindings.Multibinder;

import io.postino.server.trace.TraceRoutes;

/** {@code POST /trace}: the dry run of the pipeline for the operator ({@code postinoctl trace}). */
public class TraceModule extends AbstractModule {
    @Override
    protected void configure() {
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(TraceRoutes.class);
    }
}
