package io.postino.server.spool;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Enumeration;

import javax.mail.MessagingException;
import javax.mail.Session;

import org.apache.james.server.core.MimeMessageSource;
import org.apache.james.server.core.MimeMessageWrapper;

/**
 * A message read from the spool: James' lazy wrapper over the stored octets, which it knows
 * ({@link #ref}) so that queueing it again refers to them instead of copying them, and which it
 * writes out as they are. James' wrapper re-encodes every header line as US-ASCII when it writes,
 * turning 8-bit octets (UTF-8 headers, RFC 6532) into {@code ?}; this one writes unchanged header
 * lines as their original octets and changed ones byte for byte as JavaMail holds them (ISO-8859-1,
 * one char per octet), and the body as stored unless a mailet changed it.
 */
final class SpooledMessage extends MimeMessageWrapper {
    private final SpoolStore store;
    private final MessageRef ref;

    SpooledMessage(SpoolStore store, MessageRef ref, Source source) {
        super(Session.getDefaultInstance(System.getProperties()), source);
        this.store = store;
        this.ref = ref;
    }

    MessageRef ref() {
        return ref;
    }

    boolean storedIn(SpoolStore other) {
        return store == other;
    }

    /** The header section as this message holds it now, one octet per char, ending with the empty line. */
    static byte[] headerSection(MimeMessageWrapper message, String[] ignore) throws MessagingException {
        ByteArrayOutputStream headers = new ByteArrayOutputStream();
        @SuppressWarnings("unchecked")
        Enumeration<String> lines = ignore == null ? message.getAllHeaderLines() : message.getNonMatchingHeaderLines(ignore);
        while (lines.hasMoreElements()) {
            headers.writeBytes(lines.nextElement().getBytes(StandardCharsets.ISO_8859_1));
            headers.writeBytes(CRLF);
        }
        headers.writeBytes(CRLF);
        return headers.toByteArray();
    }

    private static final byte[] CRLF = {'\r', '\n'};

    /**
     * JavaMail's saveChanges rewrites MIME headers from the parsed content (and could so break
     * a DKIM signature): a relayed message whose body nobody changed keeps its headers as they are.
     */
    @Override
    protected void updateHeaders() throws MessagingException {
        if (isBodyModified()) {
            super.updateHeaders();
        }
    }

    @Override
    public synchronized void writeTo(OutputStream headerOs, OutputStream bodyOs, String[] ignoreList, boolean preLoad)
        throws IOException, MessagingException {
        if (isBodyModified()) {
            super.writeTo(headerOs, bodyOs, ignoreList, preLoad);
            return;
        }
        Source source = (Source) this.source;
        boolean filtering = ignoreList != null && ignoreList.length > 0;
        if (isHeaderModified() || filtering) {
            headerOs.write(headerSection(this, filtering ? ignoreList : null));
        } else {
            source.writeHeaders(headerOs);
        }
        source.writeBody(bodyOs);
    }

    /** The stored octets of one item: its header section (its own or the body's) and the stored body. */
    static final class Source implements MimeMessageSource {
        private final SpoolStore store;
        private final MessageRef ref;
        private volatile byte[] stored;

        Source(SpoolStore store, MessageRef ref) {
            this.store = store;
            this.ref = ref;
        }

        private byte[] stored() throws IOException {
            byte[] octets = stored;
            if (octets == null) {
                try {
                    octets = store.body(ref.bodyId());
                } catch (SpoolStore.SpoolUnavailable e) {
                    throw new IOException(e.getMessage(), e);
                }
                stored = octets;
            }
            return octets;
        }

        @Override
        public String getSourceId() {
            return "postino-spool:" + ref.bodyId();
        }

        @Override
        public InputStream getInputStream() throws IOException {
            byte[] octets = stored();
            InputStream body = new ByteArrayInputStream(octets, ref.bodyOffset(), octets.length - ref.bodyOffset());
            InputStream headers = ref.headers() != null ? new ByteArrayInputStream(ref.headers())
                : new ByteArrayInputStream(octets, 0, ref.bodyOffset());
            return new SequenceInputStream(headers, body);
        }

        @Override
        public long getMessageSize() throws IOException {
            byte[] octets = stored();
            return (ref.headers() != null ? ref.headers().length : ref.bodyOffset()) + (octets.length - ref.bodyOffset());
        }

        void writeHeaders(OutputStream out) throws IOException {
            if (ref.headers() != null) {
                out.write(ref.headers());
            } else {
                out.write(stored(), 0, ref.bodyOffset());
            }
        }

        void writeBody(OutputStream out) throws IOException {
            byte[] octets = stored();
            out.write(octets, ref.bodyOffset(), octets.length - ref.bodyOffset());
        }
    }
}
