package io.postino.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;

import org.junit.jupiter.api.Test;

class BoundedLabelTest {
    @Test
    void theFirstValuesAreKeptAndLaterOnesAreOther() {
        BoundedLabel label = new BoundedLabel("destination", 2);

        assertThat(label.value("a.test")).isEqualTo("a.test");
        assertThat(label.value("B.test")).isEqualTo("b.test");
        assertThat(label.value("c.test")).isEqualTo(BoundedLabel.OTHER);
        assertThat(label.value("a.test")).as("a kept value stays").isEqualTo("a.test");
    }

    @Test
    void anAbsentValueIsNone() {
        BoundedLabel label = new BoundedLabel("organisation", 2);

        assertThat(label.value(Optional.empty())).isEqualTo(BoundedLabel.NONE);
        assertThat(label.value(" ")).isEqualTo(BoundedLabel.NONE);
        assertThat(label.value("x")).as("none takes no place").isEqualTo("x");
    }
}
