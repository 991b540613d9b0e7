package io.postino.server.events;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

import javax.xml.validation.Schema;

import org.apache.james.util.DurationParser;
import org.xml.sax.Attributes;

import io.postino.config.ConfigFileException;
import io.postino.config.SchemaValidatedXml;
import io.postino.events.DeliveryEvent;

/**
 * Reads conf/eventsinks.xml (schema eventsinks.xsd): refuses a name used twice, an unknown event
 * type, a bad retry duration, a webhook URL with user information ({@code https://user:password@...},
 * which Camel's HTTP client refuses at every delivery: the receiver authenticates Postino by the
 * signature made with {@code secret} instead). {@code file} paths starting with {@code var/} are in the data
 * directory.
 */
public final class EventSinksFile {
    private static final Schema SCHEMA = SchemaValidatedXml.schema(EventSinksFile.class.getResource("eventsinks.xsd"));

    private EventSinksFile() {
    }

    /** @param resolve turns a configured file path into a real one */
    public static List<EventSink> read(Path file, Function<String, Path> resolve) throws ConfigFileException {
        Handler handler = new Handler(resolve);
        SchemaValidatedXml.read(file, SCHEMA, handler, "copy conf/eventsinks.xml from the distribution");
        return handler.sinks;
    }

    private static final class Handler extends SchemaValidatedXml.LineAwareHandler {
        private final Function<String, Path> resolve;
        private final List<EventSink> sinks = new ArrayList<>();
        private final Map<String, Integer> names = new HashMap<>();

        Handler(Function<String, Path> resolve) {
            this.resolve = resolve;
        }

        @Override
        public void startElement(String uri, String localName, String qName, Attributes attributes) throws SchemaValidatedXml.ProblemAtLine {
            if (!localName.equals("webhook") && !localName.equals("jsonLines")) {
                return;
            }
            String name = attributes.getValue("name");
            Integer earlier = names.putIfAbsent(name, line());
            if (earlier != null) {
                throw new SchemaValidatedXml.ProblemAtLine(line(), "sink name '" + name + "' is already used on line " + earlier);
            }
            Set<String> organisations = list(attributes.getValue("organisations"));
            Set<DeliveryEvent.Type> types = new LinkedHashSet<>();
            for (String type : list(attributes.getValue("types"))) {
                try {
                    types.add(DeliveryEvent.Type.fromConfigName(type));
                } catch (IllegalArgumentException e) {
                    throw new SchemaValidatedXml.ProblemAtLine(line(), "sink '" + name + "': unknown event type '" + type
                        + "' (received, rejected, queued, deferred, delivered, bounced, suppressed, rate-limited)");
                }
            }
            if (localName.equals("webhook")) {
                URI url = URI.create(attributes.getValue("url").trim());
                if (url.getRawUserInfo() != null) {
                    throw new SchemaValidatedXml.ProblemAtLine(line(), "sink '" + name + "': url must not carry a user name or password"
                        + " (user:password@): the HTTP client refuses such a URL at every delivery. Remove it and let the receiver"
                        + " check the X-Postino-Signature header, an HMAC of the body made with the sink's secret attribute");
                }
                sinks.add(new EventSink(name, EventSink.Kind.WEBHOOK, organisations, types, Optional.of(url),
                    Optional.of(attributes.getValue("secret")), Integer.parseInt(value(attributes, "maxAttempts", "12")),
                    duration(name, "firstRetry", value(attributes, "firstRetry", "1s")), duration(name, "maxRetry", value(attributes, "maxRetry", "10m")),
                    Optional.empty()));
            } else {
                sinks.add(new EventSink(name, EventSink.Kind.JSON_LINES, organisations, types, Optional.empty(), Optional.empty(), 1,
                    Duration.ZERO, Duration.ZERO, Optional.of(resolve.apply(attributes.getValue("file").trim()))));
            }
        }

        private static String value(Attributes attributes, String name, String fallback) {
            return Optional.ofNullable(attributes.getValue(name)).map(String::trim).orElse(fallback);
        }

        private Duration duration(String sink, String attribute, String raw) throws SchemaValidatedXml.ProblemAtLine {
            try {
                Duration duration = DurationParser.parse(raw, ChronoUnit.SECONDS);
                if (duration.isNegative() || duration.isZero()) {
                    throw new NumberFormatException();
                }
                return duration;
            } catch (RuntimeException e) {
                throw new SchemaValidatedXml.ProblemAtLine(line(), "sink '" + sink + "': " + attribute + " must be a positive duration such as 500ms, 1s or 10m, got '" + raw + "'");
            }
        }

        private static Set<String> list(String raw) {
            Set<String> values = new LinkedHashSet<>();
            if (raw != null) {
                Arrays.stream(raw.split("[,\\s]+")).map(String::trim).filter(value -> !value.isEmpty() && !value.equals("*")).forEach(values::add);
            }
            return values;
        }
    }
}
