package io.postino.server.pacing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.james.core.MailAddress;
import org.apache.mailet.AttributeUtils;
import org.apache.mailet.Mail;

import io.postino.organisations.OrganisationsConfig;
import io.postino.organisations.PostinoAttributes;
import io.postino.organisations.Route;
import io.postino.server.DurableFiles;

/**
 * The recipient domains and the routes an operator has put on hold: outgoing mail with a
 * recipient in a held domain, or in a domain its organisation's {@code <routing>} sends by a held
 * route, is not delivered until they are released. It stays queued, waiting: never bounced, and
 * the wait is no delivery attempt (RemoteDelivery does not see the mail, so none of its retries is
 * used and no {@code deferred} event is recorded). A mail waits whole: one recipient in a held
 * domain keeps its recipients in other domains waiting too.
 *
 * <p>Holds are kept in {@code <data>/store/held-destinations.txt}, one a line, {@code domain
 * example.net} or {@code route eu}, so that a restart does not release what the operator held.</p>
 */
public final class HeldDestinations {
    private static final String DOMAIN = "domain";
    private static final String ROUTE = "route";

    private final Optional<Path> file;
    private final Set<String> domains = ConcurrentHashMap.newKeySet();
    private final Set<String> routes = ConcurrentHashMap.newKeySet();
    /** Mails put back in the queue to wait for a hold, by name: a release makes them due at once. */
    private final Set<String> waiting = ConcurrentHashMap.newKeySet();
    private final List<Runnable> onRelease = new CopyOnWriteArrayList<>();

    private HeldDestinations(Optional<Path> file) {
        this.file = file;
    }

    /** Holds that are never written down (tests). */
    static HeldDestinations inMemory() {
        return new HeldDestinations(Optional.empty());
    }

    /**
     * The holds kept in {@code file}, read now.
     *
     * @throws IOException when the file cannot be read or has a line that is neither
     *                     {@code domain <name>} nor {@code route <name>}
     */
    public static HeldDestinations keptIn(Path file) throws IOException {
        HeldDestinations holds = new HeldDestinations(Optional.of(file));
        if (Files.exists(file)) {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            for (int number = 1; number <= lines.size(); number++) {
                String line = lines.get(number - 1).trim();
                if (line.isEmpty()) {
                    continue;
                }
                String[] words = line.split("\\s+");
                if (words.length == 2 && words[0].equals(DOMAIN)) {
                    holds.domains.add(words[1].toLowerCase(Locale.ROOT));
                } else if (words.length == 2 && words[0].equals(ROUTE)) {
                    holds.routes.add(words[1]);
                } else {
                    throw new IOException(file + " line " + number + ": '" + line + "' is neither 'domain <name>' nor 'route <name>'");
                }
            }
        }
        return holds;
    }

    /** Held recipient domains, lower case, sorted. */
    public Set<String> domains() {
        return new TreeSet<>(domains);
    }

    /** Held route names, sorted. */
    public Set<String> routes() {
        return new TreeSet<>(routes);
    }

    /** @return false when the domain was already held */
    public synchronized boolean holdDomain(String domain) {
        boolean added = domains.add(domain.toLowerCase(Locale.ROOT));
        if (added) {
            write();
        }
        return added;
    }

    /** @return false when the domain was not held */
    public boolean releaseDomain(String domain) {
        return released(domains, domain.toLowerCase(Locale.ROOT));
    }

    /** @return false when the route was already held */
    public synchronized boolean holdRoute(String route) {
        boolean added = routes.add(route);
        if (added) {
            write();
        }
        return added;
    }

    /** @return false when the route was not held */
    public boolean releaseRoute(String route) {
        return released(routes, route);
    }

    private boolean released(Set<String> from, String name) {
        synchronized (this) {
            if (!from.remove(name)) {
                return false;
            }
            write();
        }
        onRelease.forEach(Runnable::run);
        return true;
    }

    /**
     * Whether the mail must wait: a recipient's domain is held, or the route its organisation
     * takes to that domain is.
     */
    public boolean holds(Mail mail, OrganisationsConfig config) {
        if (domains.isEmpty() && routes.isEmpty()) {
            return false;
        }
        Optional<String> organisation = AttributeUtils.getValueAndCastFromMail(mail, PostinoAttributes.ORGANISATION, String.class);
        for (MailAddress recipient : mail.getRecipients()) {
            String domain = recipient.getDomain().asString().toLowerCase(Locale.ROOT);
            if (domains.contains(domain)) {
                return true;
            }
            if (!routes.isEmpty() && organisation.flatMap(config::byId)
                    .flatMap(owner -> config.routeFor(owner, domain)).map(Route::name).filter(routes::contains).isPresent()) {
                return true;
            }
        }
        return false;
    }

    /** The mail was put back in the queue to wait for a hold. */
    void waiting(String mailName) {
        waiting.add(mailName);
    }

    /**
     * Whether the mail was put back in the queue to wait for a hold, forgetting it: on a release,
     * the mails it answers true for are made due at once (those still held wait again).
     */
    boolean stopWaiting(String mailName) {
        return waiting.remove(mailName);
    }

    /** Mails put back to wait for a hold and not seen since. */
    int waitingCount() {
        return waiting.size();
    }

    void onRelease(Runnable listener) {
        onRelease.add(listener);
    }

    private void write() {
        file.ifPresent(path -> {
            List<String> lines = new ArrayList<>();
            new TreeSet<>(domains).forEach(domain -> lines.add(DOMAIN + " " + domain));
            new TreeSet<>(routes).forEach(route -> lines.add(ROUTE + " " + route));
            try {
                Files.createDirectories(path.getParent());
                Path temporary = Files.createTempFile(path.getParent(), "held-destinations", ".tmp");
                DurableFiles.writeSynced(temporary, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
                DurableFiles.moveSynced(temporary, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot record the held destinations in " + path, e);
            }
        });
    }
}
