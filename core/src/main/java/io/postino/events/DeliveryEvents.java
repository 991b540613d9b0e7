package io.postino.events;

/**
 * Where the steps of every message go (tracking index, webhooks). {@link #publish} must return at
 * once: it is called on the SMTP and delivery paths, which must never wait for a consumer.
 */
public interface DeliveryEvents {
    DeliveryEvents DISCARD = event -> {
    };

    void publish(DeliveryEvent event);
}
