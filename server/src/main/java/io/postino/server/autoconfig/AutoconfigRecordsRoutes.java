package io.postino.server.autoconfig;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

import javax.inject.Inject;

import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.JsonTransformer;

import io.postino.organisations.MailboxServer;
import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.server.WebAdminErrors;
import spark.Request;
import spark.Service;

/**
 * WebAdmin {@code GET /organisations/{id}/autoconfig-records}: the DNS records each domain of
 * the organisation publishes so that mail clients find Postino by themselves. Per domain:
 * {@code _submissions._tcp} (RFC 8314 §5.1, implicit TLS) and {@code _submission._tcp}
 * (RFC 6186, STARTTLS) SRV records for the submission listeners, {@code _imaps._tcp} and the like
 * for its declared mailbox server, CNAMEs of {@code autoconfig.<domain>} and
 * {@code autodiscover.<domain>} to {@code POSTINO_HOSTNAME}, and Outlook's
 * {@code _autodiscover._tcp} SRV record. Allowed to the operator and to the organisation's own
 * token ({@code OrganisationScope}).
 */
public class AutoconfigRecordsRoutes implements Routes {
    private static final String BASE = "/organisations";
    private static final int TTL = 3600;

    private final Organisations organisations;
    private final AutoconfigDirectory directory;
    private final JsonTransformer json;

    @Inject
    public AutoconfigRecordsRoutes(Organisations organisations, AutoconfigDirectory directory, JsonTransformer json) {
        this.organisations = organisations;
        this.directory = directory;
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE + "/:id/autoconfig-records", (request, response) -> records(organisation(request)), json);
    }

    private Organisation organisation(Request request) {
        String id = request.params("id");
        return organisations.current().byId(id).orElseThrow(() -> WebAdminErrors.noOrganisation(id));
    }

    private Map<String, Object> records(Organisation organisation) {
        String host = directory.hostname() + ".";
        List<SubmissionListener> submissions = directory.submissions();
        Optional<Integer> httpsPort = autoconfigPort();
        List<Map<String, Object>> domains = new ArrayList<>();
        for (String domain : new TreeSet<>(organisation.domains())) {
            List<Map<String, String>> records = new ArrayList<>();
            for (SubmissionListener listener : submissions) {
                String service = listener.implicitTls() ? "_submissions._tcp." : "_submission._tcp.";
                records.add(record(service + domain + ".", "SRV", "0 1 " + listener.port() + " " + host,
                    listener.implicitTls() ? "mail submission over implicit TLS (RFC 8314)" : "mail submission with STARTTLS (RFC 6186)"));
            }
            organisation.mailboxServer().ifPresent(mailbox -> records.add(record(mailboxService(mailbox) + domain + ".", "SRV",
                "0 1 " + mailbox.port() + " " + mailbox.host() + ".", "the organisation's own mailbox server (RFC 6186), from <mailboxServer>")));
            if (httpsPort.isPresent()) {
                records.add(record("autoconfig." + domain + ".", "CNAME", host, "Thunderbird's https://autoconfig." + domain + "/mail/config-v1.1.xml"));
                records.add(record("autodiscover." + domain + ".", "CNAME", host, "Outlook's https://autodiscover." + domain + "/autodiscover/autodiscover.xml"));
                records.add(record("_autodiscover._tcp." + domain + ".", "SRV", "0 0 " + httpsPort.get() + " " + host,
                    "Outlook's fallback: autodiscover at " + directory.hostname() + ", a name Postino's certificate covers"));
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("domain", domain);
            entry.put("records", records);
            domains.add(entry);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("organisation", organisation.id());
        body.put("hostname", directory.hostname());
        body.put("autoconfigPort", httpsPort.orElse(null));
        body.put("domains", domains);
        body.put("notes", notes(organisation, httpsPort, submissions));
        return body;
    }

    private List<String> notes(Organisation organisation, Optional<Integer> httpsPort, List<SubmissionListener> submissions) {
        List<String> notes = new ArrayList<>();
        if (submissions.isEmpty()) {
            notes.add("smtpserver.xml has no submission listener (AUTH required, with TLS): there is nothing to publish for sending");
        }
        if (httpsPort.isEmpty()) {
            notes.add("POSTINO_AUTOCONFIG_PORT is off: no autoconfiguration documents are served, so no autoconfig/autodiscover record is listed");
        } else {
            if (httpsPort.get() != 443) {
                notes.add("Clients fetch autoconfig.<domain> and autodiscover.<domain> on port 443, but the listener is on port "
                    + httpsPort.get() + ": forward 443 of " + directory.hostname() + " to it");
            }
            notes.add("Clients check the HTTPS certificate against autoconfig.<domain> and autodiscover.<domain>: Postino's certificate"
                + " (POSTINO_TLS_CERTIFICATE) must name them too, or those names fail; the _autodiscover._tcp record needs only "
                + directory.hostname() + ", which it names");
            notes.add("Thunderbird also asks https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml, on the domain's web site:"
                + " proxy that path there to this listener if the autoconfig.<domain> name cannot be used");
        }
        if (organisation.mailboxServer().isEmpty()) {
            notes.add("Organisation '" + organisation.id() + "' declares no <mailboxServer>: the documents name only the outgoing server,"
                + " which Thunderbird refuses (it needs an incomingServer) and Apple profiles cannot carry");
        }
        return notes;
    }

    private static String mailboxService(MailboxServer mailbox) {
        String base = mailbox.type() == MailboxServer.Type.IMAP ? "_imap" : "_pop3";
        return base + (mailbox.implicitTls() ? "s" : "") + "._tcp.";
    }

    private static Optional<Integer> autoconfigPort() {
        String port = System.getProperty("postino.autoconfig.port", "off");
        return port.equals("off") ? Optional.empty() : Optional.of(Integer.parseInt(port));
    }

    private static Map<String, String> record(String name, String type, String value, String purpose) {
        Map<String, String> record = new LinkedHashMap<>();
        record.put("name", name);
        record.put("type", type);
        record.put("value", value);
        record.put("zoneLine", name + " " + TTL + " IN " + type + " " + value);
        record.put("purpose", purpose);
        return record;
    }
}
