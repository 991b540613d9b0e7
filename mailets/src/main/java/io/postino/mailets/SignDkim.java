package io.postino.mailets;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
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
import org.apache.james.jdkim.exceptions.FailException;
import org.apache.james.jdkim.mailets.CRLFOutputStream;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.Mail;
import org.apache.mailet.base.Converter7Bit;
import org.apache.mailet.base.GenericMailet;

import io.postino.dkim.DkimKey;
import io.postino.dkim.DkimKeys;
import io.postino.dkim.Ed25519DkimProvider;
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
 * time for organisations that require signing). The message is first converted to 7-bit, so that
 * no relay on the way (nor RemoteDelivery, for a server without 8BITMIME) re-encodes the signed
 * body, and the mail goes on as exactly the bytes signed. Place it last before RemoteDelivery: a header changed after it breaks the signature.
 * Signing uses Apache jDKIM, as James' own DKIMSign mailet does (which has one key per mailet);
 * {@link Ed25519DkimProvider} gives jDKIM the Ed25519 it lacks.
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
    static final String DEFAULT_HEADERS = "from:to:cc:subject:date:message-id:reply-to:in-reply-to:references:mime-version:content-type:content-transfer-encoding";

    private final DkimKeys keys;
    private final Organisations organisations;
    private String headers;
    private Converter7Bit converter;

    @Inject
    public SignDkim(DkimKeys keys, Organisations organisations) {
        this.keys = keys;
        this.organisations = organisations;
        Ed25519DkimProvider.install();
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
        // Work on a plain JavaMail copy: James' own message classes may keep writing the original
        // body of a multipart whose parts were converted.
        MimeMessage message = copyOf(mail.getMessage());
        try {
            converter.convertTo7Bit(message);
            message.saveChanges();
        } catch (IOException e) {
            throw new MessagingException("Cannot convert the message to 7 bit before signing: " + e.getMessage(), e);
        }
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        try (OutputStream out = new CRLFOutputStream(content)) {
            message.writeTo(out);
        } catch (IOException e) {
            throw new MessagingException("Cannot read the message to sign it: " + e.getMessage(), e);
        }
        // Every signature covers the same headers and body: none signs another DKIM-Signature.
        List<String> signatures = new ArrayList<>();
        for (DkimKey key : signing) {
            String template = "v=1; a=" + key.algorithm().signatureAlgorithm() + "; c=relaxed/relaxed; d=" + key.domain()
                + "; s=" + key.selector() + "; h=" + headers + "; bh=; b=;";
            try {
                signatures.add(new DKIMSigner(template, key.privateKey()).sign(new ByteArrayInputStream(content.toByteArray())));
            } catch (IOException | FailException e) {
                throw new MessagingException("DKIM signing with " + key.dnsName() + " failed: " + e.getMessage(), e);
            }
        }
        // The mail goes on as exactly the bytes signed, with the signatures on top: a message parsed
        // from bytes is written back unchanged, so no later header update can break the signatures.
        ByteArrayOutputStream signed = new ByteArrayOutputStream();
        for (String signature : signatures) {
            signed.writeBytes((fold(signature) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        }
        signed.writeBytes(content.toByteArray());
        mail.setMessage(keepingMessageId(message.getSession(), signed.toByteArray()));
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
