package io.postino.mailets;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

import javax.inject.Inject;
import javax.mail.MessagingException;
import javax.mail.Session;
import javax.mail.internet.MimeMessage;

import org.apache.james.jdkim.DKIMSigner;
import org.apache.james.jdkim.api.SignatureRecord;
import org.apache.james.jdkim.exceptions.FailException;
import org.apache.james.jdkim.exceptions.PermFailException;
import org.apache.james.jdkim.impl.BodyHasherImpl;
import org.apache.james.jdkim.mailets.CRLFOutputStream;
import org.apache.james.jdkim.tagvalue.SignatureRecordImpl;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.Mail;
import org.apache.mailet.base.Converter7Bit;
import org.apache.mailet.base.GenericMailet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.postino.dkim.DkimKey;
import io.postino.dkim.DkimKeys;
import io.postino.dkim.Ed25519DkimProvider;
import io.postino.dkim.NativeRsa;
import io.postino.dkim.SigningDomain;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.PostinoAttributes;

/**
 * Signs an organisation's mail ({@code postino.organisation}) whose From: domain is one of its
 * domains, with the active DKIM keys of that domain (WebAdmin {@code /dkim/domains/{domain}}):
 * the newest {@code rsa-sha256} key and the newest {@code ed25519-sha256} key (RFC 8463), so a
 * domain with both gets two signatures; relaxed/relaxed canonicalization, d= the From: domain
 * (aligned for DMARC).
 * Mail whose From: domain has no key passes unsigned ({@code RequireDkimKey} refuses it at SMTP
 * time for organisations that require signing), and so, with a warning, does mail whose signed
 * headers have 8-bit octets that the JVM's charset does not read back as they are (jDKIM hashes
 * header text in that charset: run Postino with UTF-8, {@code -Dfile.encoding=UTF-8} on a host
 * whose locale is not). A 7-bit message (nearly all: MIME encodes the rest) is signed in one pass
 * over its body as it is, and the signatures are added as headers, so the spool keeps the body it
 * already has. An 8-bit one is first converted to 7-bit, so that no
 * relay on the way (nor RemoteDelivery, for a server without 8BITMIME) re-encodes the signed body,
 * and goes on as exactly the bytes signed. With an RSA and an Ed25519 key, the body is hashed once
 * for both. Place it last before RemoteDelivery: a header changed after it breaks the signature.
 * Signing uses Apache jDKIM, as James' own DKIMSign mailet does (which has one key per mailet);
 * {@link Ed25519DkimProvider} gives jDKIM the Ed25519 it lacks. The message is read once, as it is
 * written: the body goes straight into the hash and the headers are handed to jDKIM as their octets
 * ({@link RawHeaders}), not through jDKIM's mime4j parse of the whole message.
 *
 * <ul>
 *   <li>{@code headers}: the header fields signed, colon-separated. Default
 *   {@value #DEFAULT_HEADERS}. From is always signed.</li>
 * </ul>
 *
 * <pre>{@code
 * <mailet match="All" class="io.postino.mailets.SignDkim"/>
 * }</pre>
 */
public class SignDkim extends GenericMailet {
    private static final Logger LOGGER = LoggerFactory.getLogger(SignDkim.class);
    static final String DEFAULT_HEADERS = "from:to:cc:subject:date:message-id:reply-to:in-reply-to:references:mime-version:content-type:content-transfer-encoding";

    private final DkimKeys keys;
    private final Organisations organisations;
    private String headers;
    private List<String> signedHeaders;
    private Converter7Bit converter;

    @Inject
    public SignDkim(DkimKeys keys, Organisations organisations) {
        this.keys = keys;
        this.organisations = organisations;
        Ed25519DkimProvider.install();
        NativeRsa.install();
    }

    @Override
    public void init() throws MessagingException {
        List<String> names = Arrays.stream(getInitParameter("headers", DEFAULT_HEADERS).split(":"))
            .map(name -> name.trim().toLowerCase(Locale.ROOT)).filter(name -> !name.isEmpty()).collect(Collectors.toList());
        for (String name : names) {
            if (!name.matches("[a-z0-9\\-]+")) {
                throw new MessagingException("SignDkim: <headers> lists header names separated by ':', got '" + name + "'");
            }
        }
        if (!names.contains("from")) {
            names.add(0, "from");
        }
        signedHeaders = List.copyOf(names);
        headers = String.join(":", names);
        converter = new Converter7Bit(getMailetContext());
    }

    @Override
    public void service(Mail mail) throws MessagingException {
        // Only an organisation's own mail, for its own domain: mail received from the Internet (for
        // postmaster@, say) must never leave with a signature its sender could not make.
        Optional<Organisation> organisation = AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.ORGANISATION, String.class)
            .flatMap(id -> organisations.current().byId(id));
        Optional<String> domain = SigningDomain.of(mail.getMessage());
        if (organisation.isEmpty() || domain.isEmpty() || !organisation.get().ownsDomain(domain.get())) {
            return;
        }
        List<DkimKey> signing = keys.signingKeys(domain.get());
        if (signing.isEmpty()) {
            return;
        }
        MimeMessage original = mail.getMessage();
        HeaderSection headerSection = new HeaderSection();
        Signatures signatures = new Signatures(signing);
        SevenBitCheck body = new SevenBitCheck(signatures.body());
        try (OutputStream out = new CRLFOutputStream(new HeaderBodySplitter(headerSection, body))) {
            original.writeTo(out);
        } catch (IOException e) {
            throw new MessagingException("Cannot read the message to sign it: " + e.getMessage(), e);
        }
        if (body.sevenBit() || mail.getAttribute(PostinoAttributes.SMTPUTF8).isPresent()) {
            // The usual case: one pass over the body as it is, the signatures added as headers.
            // SMTPUTF8 mail too (RFC 8616): it travels only over 8-bit clean hops, and its UTF-8
            // headers could not be made 7-bit anyway.
            for (String signature : signatures.over(headerSection.fields(), mail)) {
                original.addHeaderLine(fold(signature));
            }
            return;
        }
        // 8-bit content: converted to 7-bit first on a plain JavaMail copy (James' own message
        // classes may keep writing the original body of a multipart whose parts were converted),
        // so that no relay re-encodes the signed body; the mail goes on as exactly the bytes signed.
        MimeMessage message = copyOf(original);
        try {
            converter.convertTo7Bit(message);
            message.saveChanges();
        } catch (IOException e) {
            throw new MessagingException("Cannot convert the message to 7 bit before signing: " + e.getMessage(), e);
        }
        ByteArrayOutputStream converted = new ByteArrayOutputStream();
        try (OutputStream out = new CRLFOutputStream(converted)) {
            message.writeTo(out);
        } catch (IOException e) {
            throw new MessagingException("Cannot read the message to sign it: " + e.getMessage(), e);
        }
        byte[] content = converted.toByteArray();
        int bodyStart = bodyStart(content);
        Signatures convertedSignatures = new Signatures(signing);
        try (OutputStream out = convertedSignatures.body()) {
            out.write(content, bodyStart, content.length - bodyStart);
        } catch (IOException e) {
            throw new MessagingException("Cannot hash the message to sign it: " + e.getMessage(), e);
        }
        List<String> made = convertedSignatures.over(RawHeaders.of(content, bodyStart), mail);
        if (made.isEmpty()) {
            return;
        }
        ByteArrayOutputStream signed = new ByteArrayOutputStream();
        for (String signature : made) {
            signed.writeBytes((fold(signature) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        }
        signed.writeBytes(content);
        mail.setMessage(keepingMessageId(message.getSession(), signed.toByteArray()));
    }

    /**
     * The signatures of one message, one per key, over the same headers and one hash of the body:
     * relaxed body canonicalization and SHA-256 for every algorithm (rsa-sha256, ed25519-sha256),
     * so one digest serves all. None signs another DKIM-Signature.
     */
    private final class Signatures {
        private final List<DkimKey> signing;
        /** The signature of each key, to be completed, and the text it was read from. */
        private final List<SignatureRecord> records = new ArrayList<>();
        private final List<String> templates = new ArrayList<>();
        private final BodyHasherImpl hasher;

        private Signatures(List<DkimKey> signing) throws MessagingException {
            this.signing = signing;
            for (DkimKey key : signing) {
                templates.add("v=1; a=" + key.algorithm().signatureAlgorithm() + "; c=relaxed/relaxed; d=" + key.domain()
                    + "; s=" + key.selector() + "; h=" + headers + "; bh=; b=;");
                records.add(new SignatureRecordImpl(templates.get(templates.size() - 1)));
            }
            try {
                this.hasher = new BodyHasherImpl(records.get(0));
            } catch (PermFailException e) {
                throw new MessagingException("DKIM signing with " + signing.get(0).dnsName() + " failed: " + e.getMessage(), e);
            }
        }

        /** Where the body goes, CRLF line ends, to be hashed as it is written; closing it ends the body. */
        OutputStream body() {
            return hasher.getOutputStream();
        }

        /** The signatures (none if jDKIM would not sign the octets of the headers as they are: then the mail leaves unsigned). */
        List<String> over(RawHeaders fields, Mail mail) throws MessagingException {
            if (!fields.hashedAsWritten(signedHeaders)) {
                LOGGER.warn("{} leaves unsigned: its signed headers have 8-bit octets that are not {} (the JVM's charset),"
                    + " which jDKIM would not sign as they are", mail.getName(), Charset.defaultCharset());
                return List.of();
            }
            byte[] digest = hasher.getDigest();
            List<String> signatures = new ArrayList<>(signing.size());
            for (int i = 0; i < signing.size(); i++) {
                DkimKey key = signing.get(i);
                try {
                    DKIMSigner signer = new DKIMSigner(templates.get(i), NativeRsa.signingKey(key.privateKey()));
                    signatures.add(signer.sign(fields, new Digested(records.get(i), digest)));
                } catch (FailException e) {
                    throw new MessagingException("DKIM signing with " + key.dnsName() + " failed: " + e.getMessage(), e);
                }
            }
            return signatures;
        }
    }

    /** A body hasher whose digest was computed already (jDKIM signs with the record of the hasher it is given). */
    private static final class Digested extends BodyHasherImpl {
        private final byte[] digest;

        private Digested(SignatureRecord record, byte[] digest) throws PermFailException {
            super(record);
            this.digest = digest;
        }

        @Override
        public byte[] getDigest() {
            return digest;
        }
    }

    /** Passes the body on to be hashed, noting whether every octet is 7-bit: then it is signed as it stands. */
    private static final class SevenBitCheck extends FilterOutputStream {
        private boolean sevenBit = true;

        private SevenBitCheck(OutputStream hash) {
            super(hash);
        }

        @Override
        public void write(int octet) throws IOException {
            sevenBit &= (octet & 0x80) == 0;
            out.write(octet);
        }

        @Override
        public void write(byte[] octets, int offset, int length) throws IOException {
            for (int i = offset; i < offset + length && sevenBit; i++) {
                sevenBit = (octets[i] & 0x80) == 0;
            }
            out.write(octets, offset, length);
        }

        boolean sevenBit() {
            return sevenBit;
        }
    }

    /** The header section as written, read as fields where it was written (no copy). */
    private static final class HeaderSection extends ByteArrayOutputStream {
        private HeaderSection() {
            super(2048);
        }

        RawHeaders fields() {
            return RawHeaders.of(buf, count);
        }
    }

    /** Sends what is written up to the end of the header section (its empty line included) to one stream, the rest to another. */
    private static final class HeaderBodySplitter extends OutputStream {
        private final OutputStream headers;
        private final OutputStream body;
        /** As if a line had just ended: a message starting with an empty line has no headers. */
        private int state = 2;
        private boolean inBody;

        private HeaderBodySplitter(OutputStream headers, OutputStream body) {
            this.headers = headers;
            this.body = body;
        }

        @Override
        public void write(int octet) throws IOException {
            if (inBody) {
                body.write(octet);
                return;
            }
            headers.write(octet);
            // CR LF CR LF ends the header section; an empty first line means no headers.
            state = octet == '\r' ? (state == 2 ? 3 : 1) : octet == '\n' && (state == 1 || state == 3) ? state + 1 : 0;
            if (state == 4) {
                inBody = true;
            }
        }

        @Override
        public void write(byte[] octets, int offset, int length) throws IOException {
            int i = offset;
            while (!inBody && i < offset + length) {
                write(octets[i++]);
            }
            if (i < offset + length) {
                body.write(octets, i, offset + length - i);
            }
        }

        /** Ends the body: the hash is complete once it is closed. */
        @Override
        public void close() throws IOException {
            body.close();
        }
    }

    private static int bodyStart(byte[] message) {
        for (int i = 0; i + 3 < message.length; i++) {
            if (message[i] == '\r' && message[i + 1] == '\n' && message[i + 2] == '\r' && message[i + 3] == '\n') {
                return i + 4;
            }
        }
        return message.length;
    }

    /**
     * Folds the signature header (jDKIM writes one line, up to ~950 characters with a 4096-bit key,
     * near SMTP's 998 limit): a new line before a tag that would pass 76 characters, and the b=
     * value cut in pieces of 64. Only where whitespace was or does not count: relaxed header
     * canonicalization turns a fold after "; " back into the space that was signed, and verifiers
     * drop b= and its whitespace (RFC 6376 §3.5). The h= value stays on one line (~130 characters).
     */
    static String fold(String header) {
        String[] tags = header.split("; ");
        StringBuilder folded = new StringBuilder();
        int lineLength = 0;
        for (int i = 0; i < tags.length; i++) {
            String tag = tags[i] + (i < tags.length - 1 ? ";" : "");
            if (tag.startsWith("b=") && tag.length() > 64) {
                for (int start = 0; start < tag.length(); start += 64) {
                    folded.append(i == 0 && start == 0 ? "" : "\r\n ").append(tag, start, Math.min(tag.length(), start + 64));
                }
                lineLength = 65;
                continue;
            }
            if (i > 0 && lineLength + tag.length() + 1 > 76) {
                folded.append("\r\n ");
                lineLength = 1;
            } else if (i > 0) {
                folded.append(' ');
                lineLength++;
            }
            folded.append(tag);
            lineLength += tag.length();
        }
        return folded.toString();
    }

    /** A parsed copy that keeps its Message-ID when saved (JavaMail would make a new one). */
    private static MimeMessage copyOf(MimeMessage original) throws MessagingException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            original.writeTo(bytes);
        } catch (IOException e) {
            throw new MessagingException("Cannot read the message to sign it: " + e.getMessage(), e);
        }
        return keepingMessageId(original.getSession(), bytes.toByteArray());
    }

    private static MimeMessage keepingMessageId(Session session, byte[] bytes) throws MessagingException {
        return new MimeMessage(session, new ByteArrayInputStream(bytes)) {
            @Override
            protected void updateMessageID() throws MessagingException {
                if (getMessageID() == null) {
                    super.updateMessageID();
                }
            }
        };
    }

    @Override
    public String getMailetInfo() {
        return "Signs mail with the DKIM key of its From: domain";
    }
}
