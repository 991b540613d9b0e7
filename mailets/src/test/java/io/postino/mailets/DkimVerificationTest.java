package io.postino.mailets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.apache.james.jdkim.api.SignatureRecord;
import org.apache.james.jdkim.exceptions.PermFailException;
import org.junit.jupiter.api.Test;

/**
 * Interoperability: the Ed25519 signature of RFC 8463's published example (Appendix A.3, key of
 * Appendix A.2) verifies with Postino's Ed25519 support for jDKIM. Since Postino signs with the
 * same algorithm implementation, this shows its ed25519-sha256 is the RFC's (SHA-256, then
 * PureEdDSA over the hash), not merely consistent with itself.
 */
class DkimVerificationTest {
    /** RFC 8463, Appendix A.3 (the RSA signature of the example is left out: its key is not needed here). */
    private static final String RFC8463_EXAMPLE = String.join("\r\n",
        "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;",
        " d=football.example.com; i=@football.example.com;",
        " q=dns/txt; s=brisbane; t=1528637909; h=from : to :",
        " subject : date : message-id : from : subject : date;",
        " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;",
        " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus",
        " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==",
        "From: Joe SixPack <joe@football.example.com>",
        "To: Suzie Q <suzie@shopping.example.net>",
        "Subject: Is dinner ready?",
        "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)",
        "Message-ID: <20030712040037.46341.5F8J@football.example.com>",
        "",
        "Hi.",
        "",
        "We lost the game.  Are you hungry yet?",
        "",
        "Joe.",
        "");
    /** RFC 8463, Appendix A.2. */
    private static final String BRISBANE = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

    private static List<SignatureRecord> verify(String message) throws Exception {
        return DkimVerification.verifier((method, selector, domain) -> List.of(BRISBANE))
            .verify(new ByteArrayInputStream(message.getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void thePublishedEd25519SignatureVerifies() throws Exception {
        List<SignatureRecord> valid = verify(RFC8463_EXAMPLE);

        assertThat(valid).hasSize(1);
        assertThat(valid.get(0).getSelector().toString()).isEqualTo("brisbane");
    }

    @Test
    void itFailsOnceTheMessageChanges() {
        assertThatThrownBy(() -> verify(RFC8463_EXAMPLE.replace("hungry yet?", "hungry now?"))).isInstanceOf(PermFailException.class);
        assertThatThrownBy(() -> verify(RFC8463_EXAMPLE.replace("Is dinner ready?", "Is lunch ready?"))).isInstanceOf(PermFailException.class);
    }
}
