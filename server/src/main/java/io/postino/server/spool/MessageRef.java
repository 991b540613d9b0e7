package io.postino.server.spool;

/**
 * Which octets a spooled mail's message is: the body stored under {@code bodyId}, from
 * {@code bodyOffset} (where its header section ends), after {@code headers} when a mailet changed
 * the headers only (they are kept with the item, a few hundred octets), or after the stored header
 * section itself when {@code headers} is null.
 */
record MessageRef(long bodyId, int bodyOffset, byte[] headers) {
    MessageRef withHeaders(byte[] replacement) {
        return new MessageRef(bodyId, bodyOffset, replacement);
    }

    /** Where the header section of {@code message} ends (after its empty line), or its length when it has no body. */
    static int bodyOffset(byte[] message) {
        if (message.length >= 2 && message[0] == '\r' && message[1] == '\n') {
            return 2;
        }
        if (message.length >= 1 && message[0] == '\n') {
            return 1;
        }
        for (int i = 0; i < message.length; i++) {
            if (message[i] == '\n') {
                if (i + 1 < message.length && message[i + 1] == '\n') {
                    return i + 2;
                }
                if (i + 2 < message.length && message[i + 1] == '\r' && message[i + 2] == '\n') {
                    return i + 3;
                }
            }
        }
        return message.length;
    }
}
