package io.postino.server;

import java.nio.file.Path;

import org.apache.james.filesystem.api.JamesDirectoriesProvider;

/**
 * Where James finds things: configuration and {@code extensions-jars/} in the installation,
 * everything Postino writes ({@code file://var/...}) in the data directory, which the operator
 * may put elsewhere with {@code POSTINO_DATA_DIR}.
 */
final class PostinoDirectories implements JamesDirectoriesProvider {
    private final Path home;
    private final Path data;

    PostinoDirectories(Path home, Path data) {
        this.home = home;
        this.data = data;
    }

    @Override
    public String getAbsoluteDirectory() {
        return "/";
    }

    @Override
    public String getConfDirectory() {
        return home.resolve("conf") + "/";
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
