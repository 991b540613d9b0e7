package io.postino.server.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * {@code postinoctl queue}: James' {@code /mailQueues} routes, over every spool queue or those
 * of one organisation ({@code outgoing.acme}, {@code spool.acme}), and Postino's
 * {@code /mailQueueHolds} for hold and release.
 *
 * <p>{@code --route NAME} ({@code -}: direct MX delivery) works for list and delete, through
 * Postino's {@code /mailQueueSummary}, which tells per queue which route each recipient domain's
 * mail takes (the route is chosen at delivery from the organisation's {@code <routing>} and the
 * recipient's domain). flush refuses it (exit status 3): queues are per organisation and flushed
 * whole.</p>
 *
 * <p>hold and release take {@code --domain D} or {@code --route NAME} too, through
 * {@code /mailQueueHolds/domains} and {@code /mailQueueHolds/routes}: outgoing mail with a
 * recipient there waits, whole, in its queue until released.</p>
 */
final class QueueCommands {
    private final PostinoCli cli;
    private final Arguments arguments;

    QueueCommands(PostinoCli cli, Arguments arguments) {
        this.cli = cli;
        this.arguments = arguments;
    }

    int run() throws Arguments.UsageException, WebAdminClient.RequestFailed, PostinoCli.NotSupported {
        String sub = arguments.word(1).orElse("");
        if (cli.helpShown(arguments, "queue")) {
            return PostinoCli.OK;
        }
        if (arguments.option("route").isPresent() && sub.equals("flush")) {
            throw new PostinoCli.NotSupported("queue flush --route: queues are per organisation, not per route, and are flushed whole "
                + "(the route is chosen when the mail is delivered, from the organisation's <routing> and the recipient's domain); "
                + "queue list, delete, hold and release take --route; nothing was done");
        }
        switch (sub) {
            case "list":
                arguments.allowOnly("queue list", Arguments.union(Arguments.CONNECTION, "organisation", "domain", "queue", "route"));
                arguments.operands("queue list", 2);
                return list();
            case "flush":
                arguments.allowOnly("queue flush", Arguments.union(Arguments.CONNECTION, "organisation", "queue", "route"));
                arguments.operands("queue flush", 2);
                return flush();
            case "delete":
                arguments.allowOnly("queue delete", Arguments.union(Arguments.CONNECTION, "organisation", "domain", "queue", "route",
                    "sender", "recipient", "name", "all"));
                arguments.operands("queue delete", 2);
                return delete();
            case "hold":
            case "release":
                arguments.allowOnly("queue " + sub, Arguments.union(Arguments.CONNECTION, "organisation", "domain", "queue", "route", "all"));
                arguments.operands("queue " + sub, 2);
                return holdOrRelease(sub.equals("hold"));
            case "holds":
                arguments.allowOnly("queue holds", Arguments.CONNECTION);
                arguments.operands("queue holds", 2);
                return holds();
            default:
                throw new Arguments.UsageException("queue needs list, flush, delete, hold, release or holds");
        }
    }

    /**
     * Holds or releases {@code --queue} (any holdable queue), the outgoing queue of
     * {@code --organisation}, or with {@code --all} every holdable outgoing queue. Release of
     * several queues releases those held; of one named queue, a queue not held is an error.
     */
    private int holdOrRelease(boolean hold) throws Arguments.UsageException, WebAdminClient.RequestFailed, PostinoCli.NotSupported {
        String sub = hold ? "hold" : "release";
        long given = Stream.of(arguments.option("queue").isPresent(), arguments.option("organisation").isPresent(), arguments.flag("all"),
                arguments.option("domain").isPresent(), arguments.option("route").isPresent())
            .filter(Boolean::booleanValue).count();
        if (given != 1) {
            throw new Arguments.UsageException("queue " + sub + " needs one of --queue NAME, --organisation ID, --all, --domain D or --route NAME");
        }
        WebAdminClient client = cli.client(arguments);
        if (arguments.option("domain").isPresent() || arguments.option("route").isPresent()) {
            return holdOrReleaseDestination(client, hold);
        }
        JsonNode state = client.get("/mailQueueHolds").json();
        List<String> targets = new ArrayList<>();
        if (arguments.option("queue").isPresent()) {
            targets.add(arguments.option("queue").get());
        } else {
            Optional<String> organisation = arguments.option("organisation");
            if (organisation.isPresent()) {
                client.get("/organisations/" + WebAdminClient.encode(organisation.get()));
            }
            String wanted = organisation.map(id -> "outgoing." + id).orElse(null);
            for (JsonNode name : state.path(hold ? "holdable" : "held")) {
                String queue = name.asText();
                boolean outgoing = queue.equals("outgoing") || queue.startsWith("outgoing.");
                if (wanted == null ? outgoing : queue.equals(wanted)) {
                    targets.add(queue);
                }
            }
            if (hold && targets.isEmpty()) {
                throw new WebAdminClient.RequestFailed(404, "queue hold: no outgoing queue "
                    + organisation.map(id -> "of organisation '" + id + "' ").orElse("") + "can be held (queue holds lists them)");
            }
        }
        ArrayNode done = PostinoCli.array();
        for (String queue : targets) {
            client.send(hold ? "PUT" : "DELETE", "/mailQueueHolds/" + WebAdminClient.encode(queue), null);
            done.add(queue);
            if (!arguments.flag("json")) {
                cli.row(queue, hold ? "held" : "released");
            }
        }
        if (arguments.flag("json")) {
            cli.json(done);
        }
        return PostinoCli.OK;
    }

    /** Prints: domain|route, name, held|released. */
    private int holdOrReleaseDestination(WebAdminClient client, boolean hold) throws WebAdminClient.RequestFailed {
        boolean domain = arguments.option("domain").isPresent();
        String kind = domain ? "domain" : "route";
        String name = domain ? PostinoCli.lower(arguments.option("domain").get()) : arguments.option("route").get();
        client.send(hold ? "PUT" : "DELETE", "/mailQueueHolds/" + kind + "s/" + WebAdminClient.encode(name), null);
        if (arguments.flag("json")) {
            ObjectNode done = PostinoCli.object();
            done.put(kind, name);
            done.put("held", hold);
            cli.json(done);
        } else {
            cli.row(kind, name, hold ? "held" : "released");
        }
        return PostinoCli.OK;
    }

    /**
     * queue, held|holdable: every queue that can be held, one a line; then domain|route, name,
     * held: each held recipient domain and route.
     */
    private int holds() throws WebAdminClient.RequestFailed {
        JsonNode state = cli.client(arguments).get("/mailQueueHolds").json();
        if (arguments.flag("json")) {
            cli.json(state);
            return PostinoCli.OK;
        }
        Set<String> held = new java.util.TreeSet<>();
        state.path("held").forEach(name -> held.add(name.asText()));
        Set<String> all = new java.util.TreeSet<>(held);
        state.path("holdable").forEach(name -> all.add(name.asText()));
        for (String queue : all) {
            cli.row(queue, held.contains(queue) ? "held" : "holdable");
        }
        state.path("heldDomains").forEach(domain -> cli.row("domain", domain.asText(), "held"));
        state.path("heldRoutes").forEach(route -> cli.row("route", route.asText(), "held"));
        return PostinoCli.OK;
    }

    private List<String> queues(WebAdminClient client, boolean outgoingOnly) throws WebAdminClient.RequestFailed {
        Optional<String> organisation = arguments.option("organisation");
        if (organisation.isPresent()) {
            // A 404 here says the organisation is unknown, rather than an empty list that looks like an idle one.
            client.get("/organisations/" + WebAdminClient.encode(organisation.get()));
        }
        List<String> names = new ArrayList<>();
        for (JsonNode name : client.get("/mailQueues").json()) {
            String queue = name.asText();
            boolean chosen = arguments.option("queue").map(queue::equals).orElse(true)
                && organisation.map(id -> queue.endsWith("." + id)).orElse(true)
                && (!outgoingOnly || queue.equals("outgoing") || queue.startsWith("outgoing."));
            if (chosen) {
                names.add(queue);
            }
        }
        names.sort(String::compareTo);
        return names;
    }

    private boolean inDomain(JsonNode mail, Optional<Set<String>> routed) {
        Optional<String> domain = arguments.option("domain").map(PostinoCli::lower);
        if (domain.isEmpty() && routed.isEmpty()) {
            return true;
        }
        for (JsonNode recipient : mail.path("recipients")) {
            String address = PostinoCli.lower(recipient.asText());
            String recipientDomain = address.substring(address.lastIndexOf('@') + 1);
            if (domain.map(recipientDomain::equals).orElse(true) && routed.map(domains -> domains.contains(recipientDomain)).orElse(true)) {
                return true;
            }
        }
        return false;
    }

    /**
     * With {@code --route}: per queue, the recipient domains whose mail that route delivers, as
     * WebAdmin's queue summary tells them ({@code -} names direct MX delivery).
     */
    private Optional<java.util.Map<String, Set<String>>> routedDomains(WebAdminClient client) throws WebAdminClient.RequestFailed {
        Optional<String> route = arguments.option("route");
        if (route.isEmpty()) {
            return Optional.empty();
        }
        java.util.Map<String, Set<String>> domains = new java.util.HashMap<>();
        for (JsonNode queue : client.get("/mailQueueSummary").json().path("queues")) {
            for (JsonNode destination : queue.path("destinations")) {
                String name = destination.path("route").isNull() || destination.path("route").isMissingNode()
                    ? "-" : destination.path("route").asText();
                if (name.equals(route.get())) {
                    domains.computeIfAbsent(queue.path("name").asText(), any -> new java.util.HashSet<>())
                        .add(PostinoCli.lower(destination.path("domain").asText()));
                }
            }
        }
        return Optional.of(domains);
    }

    private List<JsonNode> mails(WebAdminClient client, String queue, Optional<java.util.Map<String, Set<String>>> routed)
        throws WebAdminClient.RequestFailed {
        Optional<Set<String>> domains = routed.map(byQueue -> byQueue.getOrDefault(queue, Set.of()));
        List<JsonNode> mails = new ArrayList<>();
        if (domains.isPresent() && domains.get().isEmpty()) {
            return mails;
        }
        for (JsonNode mail : client.get("/mailQueues/" + WebAdminClient.encode(queue) + "/mails").json()) {
            if (inDomain(mail, domains)) {
                mails.add(mail);
            }
        }
        return mails;
    }

    /** queue, mail name, sender, recipients (comma-separated), next delivery (or -). */
    private int list() throws WebAdminClient.RequestFailed {
        WebAdminClient client = cli.client(arguments);
        ArrayNode all = PostinoCli.array();
        Optional<java.util.Map<String, Set<String>>> routed = routedDomains(client);
        for (String queue : queues(client, false)) {
            for (JsonNode mail : mails(client, queue, routed)) {
                ObjectNode item = all.addObject();
                item.put("queue", queue);
                item.setAll((ObjectNode) mail);
                if (!arguments.flag("json")) {
                    List<String> recipients = new ArrayList<>();
                    mail.path("recipients").forEach(recipient -> recipients.add(recipient.asText()));
                    cli.row(queue, mail.path("name").asText(), mail.path("sender").asText("<>"), String.join(",", recipients),
                        mail.path("nextDelivery").isMissingNode() || mail.path("nextDelivery").isNull() ? "-" : mail.path("nextDelivery").asText());
                }
            }
        }
        if (arguments.flag("json")) {
            cli.json(all);
        }
        return PostinoCli.OK;
    }

    private int flush() throws WebAdminClient.RequestFailed {
        WebAdminClient client = cli.client(arguments);
        ArrayNode done = PostinoCli.array();
        for (String queue : queues(client, true)) {
            client.send("PATCH", "/mailQueues/" + WebAdminClient.encode(queue) + "/mails?delayed=true", java.util.Map.of("delayed", false));
            done.add(queue);
            if (!arguments.flag("json")) {
                cli.row(queue, "flushed");
            }
        }
        if (arguments.flag("json")) {
            cli.json(done);
        }
        return PostinoCli.OK;
    }

    /**
     * {@code --route}: WebAdmin's removal by route (with the organisation and domain given), which
     * takes the whole mail of every recipient that route delivers, held queues included.
     */
    private int deleteByRoute() throws Arguments.UsageException, WebAdminClient.RequestFailed {
        if (arguments.option("queue").isPresent() || Stream.of("sender", "recipient", "name").anyMatch(name -> arguments.option(name).isPresent())
            || arguments.flag("all")) {
            throw new Arguments.UsageException("queue delete --route takes only --organisation and --domain besides");
        }
        String route = arguments.option("route").orElseThrow();
        StringBuilder query = new StringBuilder("?route=").append(route.equals("-") ? "" : WebAdminClient.encode(route));
        arguments.option("organisation").ifPresent(id -> query.append("&organisation=").append(WebAdminClient.encode(id)));
        arguments.option("domain").ifPresent(domain -> query.append("&domain=").append(WebAdminClient.encode(domain)));
        JsonNode removed = cli.client(arguments).send("DELETE", "/mailQueueSummary/mails" + query, null).json();
        if (arguments.flag("json")) {
            cli.json(removed);
        } else {
            cli.row("route " + route, "removed", removed.path("removed").asText("0"));
        }
        return PostinoCli.OK;
    }

    private int delete() throws Arguments.UsageException, WebAdminClient.RequestFailed {
        if (arguments.option("route").isPresent()) {
            return deleteByRoute();
        }
        boolean byMail = arguments.option("domain").isPresent();
        Set<String> filters = Set.of("sender", "recipient", "name");
        long given = filters.stream().filter(name -> arguments.option(name).isPresent()).count();
        if (given > 1 || (given == 1 && byMail)) {
            throw new Arguments.UsageException("queue delete takes one of --sender, --recipient, --name, --domain");
        }
        if (given == 0 && !byMail && !arguments.flag("all")) {
            throw new Arguments.UsageException("queue delete needs --sender, --recipient, --name or --domain, or --all to empty the queues");
        }
        WebAdminClient client = cli.client(arguments);
        ArrayNode tasks = PostinoCli.array();
        for (String queue : queues(client, false)) {
            String base = "/mailQueues/" + WebAdminClient.encode(queue) + "/mails";
            List<String> targets = new ArrayList<>();
            if (byMail) {
                // The API deletes by exact sender, recipient or name: a domain becomes the names of its mails.
                for (JsonNode mail : mails(client, queue, Optional.empty())) {
                    targets.add(base + "?name=" + WebAdminClient.encode(mail.path("name").asText()));
                }
            } else if (given == 1) {
                String filter = filters.stream().filter(name -> arguments.option(name).isPresent()).findFirst().orElseThrow();
                targets.add(base + "?" + filter + "=" + WebAdminClient.encode(arguments.option(filter).orElseThrow()));
            } else {
                targets.add(base);
            }
            for (String target : targets) {
                JsonNode task = client.send("DELETE", target, null).json();
                String id = task.path("taskId").asText();
                String status = id.isEmpty() ? "done" : client.get("/tasks/" + WebAdminClient.encode(id) + "/await").json().path("status").asText();
                ObjectNode item = tasks.addObject();
                item.put("queue", queue);
                item.put("request", target);
                item.put("taskId", id);
                item.put("status", status);
                if (!arguments.flag("json")) {
                    cli.row(queue, target.substring(base.length()).isEmpty() ? "all" : target.substring(base.length() + 1), status);
                }
            }
        }
        if (arguments.flag("json")) {
            cli.json(tasks);
        }
        return PostinoCli.OK;
    }
}
