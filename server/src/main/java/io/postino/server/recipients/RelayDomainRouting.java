package io.postino.server.recipients;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.inject.Inject;

import org.apache.james.dnsservice.api.DNSService;
import org.apache.james.dnsservice.api.TemporaryResolutionException;
import org.apache.james.dnsservice.dnsjava.DNSJavaService;

import io.postino.organisations.Organisation;
import io.postino.organisations.Organisations;
import io.postino.organisations.RelayDomain;
import io.postino.organisations.Route;
import io.postino.server.delivery.CurrentDelivery;

/**
 * James' DNS service, except for RemoteDelivery's MX lookups: the mail exchanger of a relay domain
 * is the organisation's internal server, and that of any domain for mail on a smarthost route
 * ({@link CurrentDelivery}) is the smarthost ({@code host:port}, which RemoteDelivery
 * understands). Every other lookup goes to DNS.
 */
public final class RelayDomainRouting implements DNSService {
    private final DNSJavaService dns;
    private final Organisations organisations;

    @Inject
    public RelayDomainRouting(DNSJavaService dns, Organisations organisations) {
        this.dns = dns;
        this.organisations = organisations;
    }

    @Override
    public Collection<String> findMXRecords(String hostname) throws TemporaryResolutionException {
        Optional<Map.Entry<Organisation, RelayDomain>> relay = organisations.current().relayDomain(stripDot(hostname));
        if (relay.isPresent()) {
            return List.of(relay.get().getValue().hostAndPort());
        }
        Optional<Route> route = CurrentDelivery.route().filter(routed -> routed.kind() == Route.Kind.SMARTHOST);
        if (route.isPresent()) {
            return List.of(route.get().host().orElseThrow() + ":" + route.get().port());
        }
        return dns.findMXRecords(hostname);
    }

    private static String stripDot(String hostname) {
        return hostname.endsWith(".") ? hostname.substring(0, hostname.length() - 1) : hostname;
    }

    @Override
    public Collection<String> findTXTRecords(String hostname) {
        return dns.findTXTRecords(hostname);
    }

    @Override
    public Collection<InetAddress> getAllByName(String host) throws UnknownHostException {
        return dns.getAllByName(host);
    }

    @Override
    public InetAddress getByName(String host) throws UnknownHostException {
        return dns.getByName(host);
    }

    @Override
    public InetAddress getLocalHost() throws UnknownHostException {
        return dns.getLocalHost();
    }

    @Override
    public String getHostName(InetAddress addr) {
        return dns.getHostName(addr);
    }
}
