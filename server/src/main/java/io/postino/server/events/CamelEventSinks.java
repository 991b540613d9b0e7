package io.postino.server.events;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.InvalidKeyException;
import java.time.Duration;
import java.time.Instant;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.LoggingLevel;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.http.base.HttpOperationFailedException;
import org.apache.camel.impl.DefaultCamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.postino.events.DeliveryEvent;
import io.postino.events.DeliveryEvents;

/**
 * Publishes delivery events to the sinks of conf/eventsinks.xml with Apache Camel.
 *
 * <p>Webhooks: the events a webhook wants are written, as a JSON array of up to {@link #BATCH}
 * events (what arrived together), to a file under {@code <data>/events/<sink>/pending}; a Camel
 * route per webhook POSTs those files in order, signed ({@code X-Postino-Signature:
 * sha256=<hex HMAC-SHA256 of the body>}), deletes a file once the receiver answered 2xx, and
 * retries otherwise with exponential backoff; after the last attempt the batch goes to
 * {@code <data>/events/<sink>/dead}. A receiver that is down delays
 * nothing but its own events, and pending events survive a restart because they are files.</p>
 *
 * <p>JSON lines: each event is appended to the sink's file as one line.</p>
 *
 * <p>{@link #publish} only queues the event (bounded; events beyond are dropped and counted): one
 * thread writes the files, so SMTP never waits on a sink.</p>
 */
public class CamelEventSinks implements DeliveryEvents, AutoCloseable {
    private static final Logger LOGGER = LoggerFactory.getLogger(CamelEventSinks.class);
    /** At most this many events per POST and per file. */
    static final int BATCH = 500;
    /** How long the first event of a batch waits for others. */
    private static final Duration LINGER = Duration.ofMillis(200);

    private final List<EventSink> sinks;
    private final Path spool;
    private final ObjectMapper json = new ObjectMapper();
    private final BlockingQueue<DeliveryEvent> pending;
    private final AtomicLong sequence = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final CamelContext camel;
    private final ProducerTemplate producer;
    private final Thread dispatcher;
    private volatile boolean running = true;
    private final Map<String, DeliveryState> states = new ConcurrentHashMap<>();

    /**
     * What became of a webhook's batches since start-up: the last accepted one, the last failed
     * attempt and its error (retried unless all attempts are spent), batches waiting on disk and
     * dead letters (batches that used all their attempts, under {@code <data>/events/<sink>/dead}).
     * The error is {@link #describe}d: no URL, no secret.
     */
    public record DeliveryState(Optional<Instant> lastSuccess, Optional<Instant> lastFailure, Optional<String> lastError,
                                long pending, long dead) {
    }

    public CamelEventSinks(List<EventSink> sinks, Path spool, int queueCapacity) throws Exception {
        this.sinks = List.copyOf(sinks);
        this.spool = spool;
        this.pending = new ArrayBlockingQueue<>(queueCapacity);
        for (EventSink sink : sinks) {
            if (sink.kind() == EventSink.Kind.WEBHOOK) {
                Files.createDirectories(pendingDirectory(sink));
                Files.createDirectories(deadDirectory(sink));
            } else {
                Files.createDirectories(sink.file().orElseThrow().toAbsolutePath().getParent());
            }
        }
        this.camel = new DefaultCamelContext();
        camel.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                for (EventSink sink : CamelEventSinks.this.sinks) {
                    if (sink.kind() == EventSink.Kind.WEBHOOK) {
                        webhookRoute(this, sink);
                    }
                }
            }
        });
        camel.getShutdownStrategy().setTimeout(10);
        camel.start();
        this.producer = camel.createProducerTemplate();
        this.dispatcher = new Thread(this::dispatchLoop, "postino-event-sinks");
        dispatcher.setDaemon(true);
        dispatcher.start();
    }

    private void webhookRoute(RouteBuilder routes, EventSink sink) {
        String url = sink.url().orElseThrow().toString();
        String endpoint = url + (url.contains("?") ? "&" : "?")
            + "httpMethod=POST&throwExceptionOnFailure=true&connectTimeout=5000&connectionRequestTimeout=5000&responseTimeout=30000&soTimeout=30000";
        String dead = "direct:dead-" + sink.name();
        byte[] secret = sink.secret().orElseThrow().getBytes(StandardCharsets.UTF_8);
        // eagerMaxMessagesPerPoll=false: sort the whole directory, not the first 100 files found.
        routes.from("file:" + pendingDirectory(sink) + "?delete=true&sortBy=file:name&include=.*\\.json&readLock=none&delay=200"
                + "&maxMessagesPerPoll=100&eagerMaxMessagesPerPoll=false")
            .routeId("webhook-" + sink.name())
            .errorHandler(routes.deadLetterChannel(dead)
                .maximumRedeliveries(sink.maxAttempts() - 1)
                .redeliveryDelay(sink.firstRetry().toMillis())
                .useExponentialBackOff()
                .backOffMultiplier(2)
                .maximumRedeliveryDelay(sink.maxRetry().toMillis())
                .retryAttemptedLogLevel(LoggingLevel.DEBUG)
                .retriesExhaustedLogLevel(LoggingLevel.WARN)
                .useOriginalMessage()
                .onRedelivery(exchange -> failed(sink, exchange)))
            .process(exchange -> sign(exchange, secret))
            .to(endpoint)
            .process(exchange -> states.merge(sink.name(), new DeliveryState(Optional.of(Instant.now()), Optional.empty(), Optional.empty(), 0, 0),
                (old, now) -> new DeliveryState(now.lastSuccess(), old.lastFailure(), old.lastError(), 0, 0)));
        // A batch whose retries were cut short by shutdown stays pending (rollback keeps the file);
        // only one that used all its attempts becomes a dead letter.
        routes.from(dead)
            .routeId("dead-" + sink.name())
            .process(exchange -> {
                failed(sink, exchange);
                if (exchange.getContext().isStopping()) {
                    exchange.setRollbackOnly(true);
                }
            })
            .to("file:" + deadDirectory(sink));
    }

    private static void sign(Exchange exchange, byte[] secret) throws NoSuchAlgorithmException, InvalidKeyException {
        byte[] body = exchange.getMessage().getBody(byte[].class);
        String eventId = exchange.getMessage().getHeader(Exchange.FILE_NAME_ONLY, String.class).replace(".json", "");
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret, "HmacSHA256"));
        exchange.getMessage().removeHeaders("*");
        exchange.getMessage().setBody(body);
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        exchange.getMessage().setHeader("X-Postino-Batch-Id", eventId);
        exchange.getMessage().setHeader("X-Postino-Signature", "sha256=" + HexFormat.of().formatHex(mac.doFinal(body)));
    }

    @Override
    public void publish(DeliveryEvent event) {
        if (!pending.offer(event) && dropped.incrementAndGet() % 1000 == 1) {
            LOGGER.warn("Event sinks cannot keep up: {} events dropped so far (mail is not affected)", dropped.get());
        }
    }

    private void dispatchLoop() {
        List<DeliveryEvent> batch = new ArrayList<>(BATCH);
        while (running || !pending.isEmpty()) {
            try {
                DeliveryEvent first = pending.poll(200, TimeUnit.MILLISECONDS);
                if (first != null) {
                    // Let what arrives in the next moment join the batch: one file and one POST for many events.
                    if (running && pending.size() < BATCH - 1) {
                        Thread.sleep(LINGER.toMillis());
                    }
                    batch.add(first);
                    pending.drainTo(batch, BATCH - 1);
                    dispatch(batch);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (IOException | RuntimeException e) {
                LOGGER.error("{} events could not be handed to their sinks", batch.size(), e);
            } finally {
                batch.clear();
            }
        }
    }

    /** One file (webhook) or one append (JSON lines) per sink for the whole batch. */
    private void dispatch(List<DeliveryEvent> batch) throws IOException {
        List<String> ids = new ArrayList<>(batch.size());
        List<String> bodies = new ArrayList<>(batch.size());
        for (DeliveryEvent event : batch) {
            String id = event.at().toEpochMilli() + "-" + String.format("%012d", sequence.incrementAndGet());
            ids.add(id);
            bodies.add(json(id, event));
        }
        for (EventSink sink : sinks) {
            try {
                handOver(sink, batch, ids, bodies);
            } catch (IOException | RuntimeException e) {
                LOGGER.error("Sink {} could not take {} events", sink.name(), batch.size(), e);
            }
        }
    }

    private void handOver(EventSink sink, List<DeliveryEvent> batch, List<String> ids, List<String> bodies) throws IOException {
        List<String> wanted = new ArrayList<>();
        String firstId = null;
        for (int i = 0; i < batch.size(); i++) {
            if (sink.wants(batch.get(i))) {
                wanted.add(bodies.get(i));
                firstId = firstId == null ? ids.get(i) : firstId;
            }
        }
        if (wanted.isEmpty()) {
            return;
        }
        if (sink.kind() == EventSink.Kind.WEBHOOK) {
            Path temporary = pendingDirectory(sink).resolve(firstId + ".json.tmp");
            Files.writeString(temporary, "[" + String.join(",", wanted) + "]", StandardCharsets.UTF_8);
            Files.move(temporary, pendingDirectory(sink).resolve(firstId + ".json"), StandardCopyOption.ATOMIC_MOVE);
        } else {
            Path file = sink.file().orElseThrow().toAbsolutePath();
            producer.sendBodyAndHeader("file:" + file.getParent() + "?fileExist=Append", String.join("\n", wanted) + "\n",
                Exchange.FILE_NAME, file.getFileName().toString());
        }
    }

    private String json(String id, DeliveryEvent event) throws JsonProcessingException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", id);
        body.put("type", event.type().configName());
        body.put("at", event.at().toString());
        body.put("mailId", event.mailId());
        body.put("messageId", event.messageId().orElse(null));
        body.put("organisation", event.organisation().orElse(null));
        body.put("user", event.user().orElse(null));
        body.put("clientIp", event.clientIp().orElse(null));
        body.put("sender", event.sender().orElse(null));
        body.put("recipient", event.recipient().orElse(null));
        body.put("size", event.size() >= 0 ? event.size() : null);
        body.put("remoteHost", event.remoteHost().orElse(null));
        body.put("reply", event.reply().orElse(null));
        return json.writeValueAsString(body);
    }

    private void failed(EventSink sink, Exchange exchange) {
        Exception error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
        Optional<String> why = Optional.ofNullable(error).map(CamelEventSinks::describe);
        states.merge(sink.name(), new DeliveryState(Optional.empty(), Optional.of(Instant.now()), why, 0, 0),
            (old, now) -> new DeliveryState(old.lastSuccess(), now.lastFailure(), now.lastError(), 0, 0));
    }

    /**
     * What went wrong, safe to show to the organisation: {@code HTTP 500} for an answer that is
     * not 2xx, else the exception's class name ({@code ConnectException}). Never the message,
     * which names the URL with the secrets of its path and query.
     */
    static String describe(Throwable error) {
        if (error instanceof HttpOperationFailedException http) {
            return "HTTP " + http.getStatusCode();
        }
        return error.getClass().getSimpleName();
    }

    /** The sinks of conf/eventsinks.xml, in its order. */
    public List<EventSink> sinks() {
        return sinks;
    }

    /** How the webhook's deliveries went since start-up; nothing for a file sink. */
    public Optional<DeliveryState> state(EventSink sink) {
        if (sink.kind() != EventSink.Kind.WEBHOOK) {
            return Optional.empty();
        }
        DeliveryState known = states.getOrDefault(sink.name(), new DeliveryState(Optional.empty(), Optional.empty(), Optional.empty(), 0, 0));
        return Optional.of(new DeliveryState(known.lastSuccess(), known.lastFailure(), known.lastError(),
            files(pendingDirectory(sink)), files(deadDirectory(sink))));
    }

    private static long files(Path directory) {
        try (java.util.stream.Stream<Path> files = Files.list(directory)) {
            return files.filter(file -> file.getFileName().toString().endsWith(".json")).count();
        } catch (IOException e) {
            return 0;
        }
    }

    private Path pendingDirectory(EventSink sink) {
        return spool.resolve(sink.name()).resolve("pending");
    }

    private Path deadDirectory(EventSink sink) {
        return spool.resolve(sink.name()).resolve("dead");
    }

    @Override
    public void close() throws Exception {
        running = false;
        dispatcher.join(10_000);
        camel.close();
    }
}
