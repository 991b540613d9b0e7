package io.postino.server.trace;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RefusalTest {
    @Test
    void theEnhancedCodeIsSplitFromTheSentence() {
        Refusal refusal = Refusal.of("550", "5.7.1 Sender mallory@acme.test is not allowed for alice@acme.test");

        assertThat(refusal.enhanced()).isEqualTo("5.7.1");
        assertThat(refusal.text()).isEqualTo("Sender mallory@acme.test is not allowed for alice@acme.test");
        assertThat(refusal.line()).isEqualTo("550 5.7.1 Sender mallory@acme.test is not allowed for alice@acme.test");
    }

    @Test
    void aDescriptionWithoutEnhancedCodeKeepsItsText() {
        Refusal refusal = Refusal.of("554", "Transaction failed");

        assertThat(refusal.enhanced()).isEmpty();
        assertThat(refusal.line()).isEqualTo("554 Transaction failed");
    }
}
