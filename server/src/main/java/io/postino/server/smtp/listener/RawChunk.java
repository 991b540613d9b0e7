package io.postino.server.smtp.listener;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/** Octets of a BDAT chunk as they arrive, not cut into lines (see {@link SmtpFramer}). */
final class RawChunk extends DefaultByteBufHolder {
    RawChunk(ByteBuf data) {
        super(data);
    }
}
