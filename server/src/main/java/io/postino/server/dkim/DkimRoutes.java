package io.postino.server.dkim;

import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import javax.inject.Inject;

import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.JsonTransformer;
import org.eclipse.jetty.http.HttpStatus;

import io.postino.dkim.DkimKey;
import io.postino.dkim.DkimKeys;
import io.postino.organisations.Organisations;
import io.postino.server.WebAdminErrors;
import spark.Request;
import spark.Response;
import spark.Service;

/**
 * WebAdmin for DKIM keys of the organisations' sender domains.
 * <ul>
 *   <li>{@code GET /dkim/domains/{domain}}: its keys, newest (signing) first, each with the DNS
 *   name and TXT record to publish, and whether DNS shows it now ({@link DkimPublication}):
 *   {@code "dns": "published"}, {@code "different"} (another record is there, in {@code dnsFound}),
 *   {@code "missing"} or {@code "unknown"} (DNS did not answer, why in {@code dnsFound}).</li>
 *   <li>{@code POST /dkim/domains/{domain}/keys?algorithm=rsa&selector=s20261129&bits=2048}:
 *   generates a key pair, RSA (2048 bits by default; 3072 or 4096 on request) or
 *   {@code algorithm=ed25519}, which signs once activated; with one of each, mail gets
 *   both signatures. 201 with the record to publish.</li>
 *   <li>{@code POST /dkim/domains/{domain}/keys/{selector}/activate}: the key signs from now on
 *   (once its TXT record is published); 200, or 404.</li>
 *   <li>{@code DELETE /dkim/domains/{domain}/keys/{selector}}: 204, or 404.</li>
 * </ul>
 */
public class DkimRoutes implements Routes {
    private static final String BASE = "/dkim/domains";
    private static final List<Integer> SIZES = List.of(2048, 3072, 4096);
    /** TXT strings are at most 255 characters (RFC 1035 §3.3.14). */
    private static final int TXT_STRING = 255;

    private final DkimKeys keys;
    private final Organisations organisations;
    private final JsonTransformer json;
    private final DkimPublication publication;

    @Inject
    public DkimRoutes(DkimKeys keys, Organisations organisations, JsonTransformer json, DkimPublication publication) {
        this.keys = keys;
        this.publication = publication;
        this.organisations = organisations;
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE + "/:domain", (request, response) -> withDns(keys.keys(domain(request))), json);
        service.post(BASE + "/:domain/keys", this::generate, json);
        service.post(BASE + "/:domain/keys/:selector/activate", this::activate, json);
        service.delete(BASE + "/:domain/keys/:selector", this::delete);
    }

    private Object generate(Request request, Response response) {
        String domain = domain(request);
        DkimKey.Algorithm algorithm;
        try {
            algorithm = DkimKey.Algorithm.of(Optional.ofNullable(request.queryParams("algorithm")).orElse("rsa"));
        } catch (IllegalArgumentException e) {
            throw WebAdminErrors.badRequest(e.getMessage());
        }
        String selector = Optional.ofNullable(request.queryParams("selector"))
            .orElse("s" + LocalDate.now(ZoneOffset.UTC).format(DateTimeFormatter.BASIC_ISO_DATE));
        if (!DkimKey.isSelector(selector)) {
            throw WebAdminErrors.badRequest("selector '" + selector + "' must be a DNS label: lower-case letters, digits and '-'");
        }
        int bits;
        try {
            bits = Integer.parseInt(Optional.ofNullable(request.queryParams("bits")).orElse("2048"));
        } catch (NumberFormatException e) {
            bits = -1;
        }
        if (algorithm == DkimKey.Algorithm.RSA && !SIZES.contains(bits)) {
            throw WebAdminErrors.badRequest("bits must be 2048, 3072 or 4096, got '" + request.queryParams("bits") + "'");
        }
        try {
            DkimKey key = keys.generate(domain, selector, algorithm, bits);
            response.status(HttpStatus.CREATED_201);
            return view(key);
        } catch (IllegalArgumentException e) {
            throw WebAdminErrors.conflict(e.getMessage());
        }
    }

    private Object activate(Request request, Response response) {
        String domain = domain(request);
        String selector = request.params("selector");
        if (!keys.activate(domain, selector)) {
            throw WebAdminErrors.notFound("domain " + domain + " has no DKIM key with selector '" + selector + "'");
        }
        return keys.keys(domain).stream().filter(key -> key.selector().equals(selector)).findFirst().map(DkimRoutes::view).orElseThrow();
    }

    private Object delete(Request request, Response response) {
        String domain = domain(request);
        if (!keys.delete(domain, request.params("selector"))) {
            throw WebAdminErrors.notFound("domain " + domain + " has no DKIM key with selector '" + request.params("selector") + "'");
        }
        response.status(HttpStatus.NO_CONTENT_204);
        return "";
    }

    private String domain(Request request) {
        String domain = request.params("domain").toLowerCase(Locale.ROOT);
        if (organisations.current().owningDomain(domain).isEmpty()) {
            throw WebAdminErrors.notFound(domain + " is not a sender domain of any organisation (organisations.xml <domain>)");
        }
        return domain;
    }

    private List<Map<String, Object>> withDns(List<DkimKey> listed) {
        List<DkimPublication.State> states = publication.checkAll(listed);
        List<Map<String, Object>> views = new ArrayList<>();
        for (int i = 0; i < listed.size(); i++) {
            Map<String, Object> view = view(listed.get(i));
            view.put("dns", states.get(i).configName());
            view.put("dnsFound", states.get(i).detail().orElse(null));
            views.add(view);
        }
        return views;
    }

    private static Map<String, Object> view(DkimKey key) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("domain", key.domain());
        view.put("selector", key.selector());
        view.put("algorithm", key.algorithm().signatureAlgorithm());
        view.put("createdAt", key.createdAt().toString());
        view.put("active", key.active());
        view.put("dnsName", key.dnsName());
        view.put("txt", key.txtRecord());
        view.put("zoneLine", key.dnsName() + ". IN TXT ( " + quoted(key.txtRecord()) + " )");
        return view;
    }

    private static String quoted(String record) {
        List<String> parts = new ArrayList<>();
        for (int start = 0; start < record.length(); start += TXT_STRING) {
            parts.add("\"" + record.substring(start, Math.min(record.length(), start + TXT_STRING)) + "\"");
        }
        return String.join(" ", parts);
    }
}
