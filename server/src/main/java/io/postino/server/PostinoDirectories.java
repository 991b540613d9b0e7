package io.postino.server;

import java.nio.file.Path;

import org.apache.james.filesystem.api.JamesDirectoriesProvider;

/**
 * Where James finds things: {@code extensions-jars/} in the installation, the configuration
 * ({@code file://conf/...}) in the configuration directory ({@code POSTINO_CONF_DIR}, by default
 * the installation's {@code conf/}), everything Postino writes ({@code file://var/...}) in the
 * data directory, which the operator may put elsewhere with {@code POSTINO_DATA_DIR}.
 */
final class PostinoDirectories implements JamesDirectoriesProvider {
    private final Path home;
    private final Path conf;
    private final Path data;

    PostinoDirectories(Path home, Path conf, Path data) {
        this.home = home;
        this.conf = conf;
        this.data = data;
    }

    @Override
    public String getAbsoluteDirectory() {
        return "/";
    }

    @Override
    public String getConfDirectory() {
        return conf + "/";
    }

    @Override
    public String getVarDirectory() {
        return data + "/";
    }

    @Override
    public String getRootDirectory() {
        return home.toString();
    }
}
