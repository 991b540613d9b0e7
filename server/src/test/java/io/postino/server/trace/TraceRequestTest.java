package io.postino.server.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

class TraceRequestTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static TraceRequest parse(String json) throws Exception {
        return TraceRequest.of(JSON.readTree(json));
    }

    @Test
    void aUserTracesOnTheSubmissionPortFromAnInternetClientByDefault() throws Exception {
        TraceRequest request = parse("{\"from\":\"alice@acme.test\",\"to\":[\"bob@example.net\"],\"user\":\"alice@acme.test\",\"message\":\"Subject: x\\n\\nbody\\n\"}");

        assertThat(request.port()).isEqualTo(587);
        assertThat(request.client().getHostAddress()).isEqualTo("192.0.2.1");
        assertThat(request.user()).contains("alice@acme.test");
        assertThat(request.helo()).isEqualTo("trace.invalid");
        assertThat(new String(request.message(), StandardCharsets.UTF_8)).isEqualTo("Subject: x\r\n\r\nbody\r\n");
    }

    @Test
    void withoutAUserItIsTheMxPortAndAnEmptyFromIsTheNullSender() throws Exception {
        TraceRequest request = parse("{\"from\":\"<>\",\"to\":[\"<bob@example.net>\",\"carol@example.net\"],\"client\":\"2001:db8::1\",\"message\":\"x\"}");

        assertThat(request.port()).isEqualTo(25);
        assertThat(request.sender().isNullSender()).isTrue();
        assertThat(request.recipients()).extracting(Object::toString).containsExactly("bob@example.net", "carol@example.net");
        assertThat(request.user()).isEmpty();
    }

    @Test
    void eachMissingOrWrongFieldIsNamed() {
        assertThatThrownBy(() -> parse("{\"to\":[\"b@example.net\"],\"message\":\"x\"}")).hasMessageContaining("'from' is required");
        assertThatThrownBy(() -> parse("{\"from\":\"a@acme.test\",\"to\":[],\"message\":\"x\"}")).hasMessageContaining("'to' is required");
        assertThatThrownBy(() -> parse("{\"from\":\"a@acme.test\",\"to\":[\"not an address\"],\"message\":\"x\"}")).hasMessageContaining("'to'");
        assertThatThrownBy(() -> parse("{\"from\":\"a@acme.test\",\"to\":[\"b@example.net\"],\"client\":\"host.test\",\"message\":\"x\"}"))
            .hasMessageContaining("'client' must be an IP address");
        assertThatThrownBy(() -> parse("{\"from\":\"a@acme.test\",\"to\":[\"b@example.net\"],\"port\":0,\"message\":\"x\"}")).hasMessageContaining("'port'");
        assertThatThrownBy(() -> parse("{\"from\":\"a@acme.test\",\"to\":[\"b@example.net\"]}")).hasMessageContaining("'message' is required");
        assertThatThrownBy(() -> parse("[]")).hasMessageContaining("JSON object");
    }
}
