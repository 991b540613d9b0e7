package io.postino.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.Charset;
import java.nio.file.CopyOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Small files that must survive a power cut once written (DKIM keys, WebAdmin tokens, the
 * generated TLS pair): the content is synced before the file takes its name, and the name is
 * synced in its directory after. Without this a crash can leave such a file missing or empty on
 * Linux, and Postino would make a new key or token that no longer matches what was published.
 */
public final class DurableFiles {
    private DurableFiles() {
    }

    /** Writes {@code content} to the existing {@code file} (created with its permissions) and syncs it. */
    public static void writeSynced(Path file, String content, Charset charset) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer bytes = ByteBuffer.wrap(content.getBytes(charset));
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
            channel.force(true);
        }
    }

    /** Renames a synced {@code temporary} file to {@code target} and syncs the directory that holds the new name, and the one above. */
    public static Path moveSynced(Path temporary, Path target, CopyOption... options) throws IOException {
        Path moved = Files.move(temporary, target, options);
        Path directory = moved.toAbsolutePath().getParent();
        syncDirectory(directory);
        // the directory may be new too (e.g. <data>/webadmin on the first start)
        if (directory.getParent() != null) {
            syncDirectory(directory.getParent());
        }
        return moved;
    }

    /** Syncs a directory's entries (the names created, renamed or removed in it). */
    public static void syncDirectory(Path directory) throws IOException {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
