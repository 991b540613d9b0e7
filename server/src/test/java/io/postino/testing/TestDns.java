package io.postino.testing;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A small authoritative DNS server over UDP on 127.0.0.1 for tests: MX, A and AAAA records, names
 * that do not exist (NXDOMAIN), names it never answers (a timeout) or answers SERVFAIL, and optionally an A record for
 * every other name. It counts the queries it receives per name.
 */
public final class TestDns implements AutoCloseable {
    private static final long TTL = 300;

    private final DatagramSocket socket;
    private final Map<String, List<Record>> records = new ConcurrentHashMap<>();
    private final Set<String> missing = ConcurrentHashMap.newKeySet();
    private final Set<String> silent = ConcurrentHashMap.newKeySet();
    private final Set<String> failing = ConcurrentHashMap.newKeySet();
    private final Map<String, AtomicInteger> queries = new ConcurrentHashMap<>();
    private volatile InetAddress everyName;

    private TestDns() throws SocketException {
        this.socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread thread = new Thread(this::serve, "test-dns-" + socket.getLocalPort());
        thread.setDaemon(true);
        thread.start();
    }

    public static TestDns start() throws SocketException {
        return new TestDns();
    }

    /** {@code 127.0.0.1:port}, as Postino's {@code dns.servers} takes it. */
    public String address() {
        return "127.0.0.1:" + socket.getLocalPort();
    }

    public int port() {
        return socket.getLocalPort();
    }

    public TestDns mx(String domain, int priority, String exchange) {
        return add(new MXRecord(name(domain), DClass.IN, TTL, priority, name(exchange)));
    }

    /** RFC 7505: one MX of priority 0 whose exchange is the root. */
    public TestDns nullMx(String domain) {
        return add(new MXRecord(name(domain), DClass.IN, TTL, 0, Name.root));
    }

    public TestDns a(String host, String address) {
        try {
            return add(new ARecord(name(host), DClass.IN, TTL, InetAddress.getByName(address)));
        } catch (IOException e) {
            throw new IllegalArgumentException(address, e);
        }
    }

    public TestDns aaaa(String host, String address) {
        try {
            return add(new AAAARecord(name(host), DClass.IN, TTL, InetAddress.getByName(address)));
        } catch (IOException e) {
            throw new IllegalArgumentException(address, e);
        }
    }

    /** A TXT record of these strings (a long DKIM key comes cut in strings of at most 255 characters). */
    public TestDns txt(String name, String... strings) {
        return add(new TXTRecord(name(name), DClass.IN, TTL, java.util.List.of(strings)));
    }

    /** An alias: a query of {@code name} is answered with the CNAME and the target's records of the type asked. */
    public TestDns cname(String name, String target) {
        return add(new org.xbill.DNS.CNAMERecord(name(name), DClass.IN, TTL, name(target)));
    }

    /** The name exists but has no records: every query gets an empty answer (NODATA). */
    public TestDns exists(String domain) {
        records.computeIfAbsent(key(domain), any -> new CopyOnWriteArrayList<>());
        return this;
    }

    /** The name does not exist: NXDOMAIN. */
    public TestDns nxdomain(String domain) {
        missing.add(key(domain));
        return this;
    }

    /** Queries for the name get no answer at all. */
    public TestDns silent(String domain) {
        silent.add(key(domain));
        return this;
    }

    /** Queries for the name are answered SERVFAIL, as a resolver does when the name's servers fail. */
    public TestDns servfail(String domain) {
        failing.add(key(domain));
        return this;
    }

    /** Names configured nowhere else have this A record (and no MX). */
    public TestDns answerEveryName(String address) {
        try {
            everyName = InetAddress.getByName(address);
        } catch (IOException e) {
            throw new IllegalArgumentException(address, e);
        }
        return this;
    }

    public int queries(String domain) {
        AtomicInteger count = queries.get(key(domain));
        return count == null ? 0 : count.get();
    }

    private TestDns add(Record record) {
        records.computeIfAbsent(key(record.getName().toString()), any -> new CopyOnWriteArrayList<>()).add(record);
        return this;
    }

    private void serve() {
        byte[] buffer = new byte[4096];
        while (!socket.isClosed()) {
            try {
                DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
                socket.receive(packet);
                Message query = new Message(java.util.Arrays.copyOf(packet.getData(), packet.getLength()));
                Message answer = answer(query);
                if (answer != null) {
                    byte[] wire = answer.toWire(512);
                    socket.send(new DatagramPacket(wire, wire.length, packet.getSocketAddress()));
                }
            } catch (IOException e) {
                if (socket.isClosed()) {
                    return;
                }
            }
        }
    }

    private Message answer(Message query) {
        Record question = query.getQuestion();
        String name = key(question.getName().toString());
        queries.computeIfAbsent(name, any -> new AtomicInteger()).incrementAndGet();
        if (silent.contains(name)) {
            return null;
        }
        Message response = new Message(query.getHeader().getID());
        response.getHeader().setFlag(Flags.QR);
        response.getHeader().setFlag(Flags.AA);
        if (query.getHeader().getFlag(Flags.RD)) {
            response.getHeader().setFlag(Flags.RD);
            response.getHeader().setFlag(Flags.RA);
        }
        response.addRecord(question, Section.QUESTION);
        if (failing.contains(name)) {
            response.getHeader().setRcode(Rcode.SERVFAIL);
            return response;
        }
        if (missing.contains(name)) {
            response.getHeader().setRcode(Rcode.NXDOMAIN);
            response.addRecord(soa(question.getName()), Section.AUTHORITY);
            return response;
        }
        List<Record> known = records.get(name);
        if (known == null && everyName != null && question.getType() == Type.A) {
            response.addRecord(new ARecord(question.getName(), DClass.IN, TTL, everyName), Section.ANSWER);
            return response;
        }
        List<Record> alias = known == null ? List.of() : known.stream().filter(record -> record.getType() == Type.CNAME).toList();
        if (!alias.isEmpty() && question.getType() != Type.CNAME) {
            Record cname = alias.get(0);
            response.addRecord(cname, Section.ANSWER);
            List<Record> target = records.getOrDefault(key(((org.xbill.DNS.CNAMERecord) cname).getTarget().toString()), List.of());
            target.stream().filter(record -> record.getType() == question.getType())
                .forEach(record -> response.addRecord(record, Section.ANSWER));
            return response;
        }
        List<Record> matching = known == null ? List.of() : known.stream().filter(record -> record.getType() == question.getType()).toList();
        if (known == null && everyName == null) {
            response.getHeader().setRcode(Rcode.NXDOMAIN);
        }
        matching.forEach(record -> response.addRecord(record, Section.ANSWER));
        if (matching.isEmpty()) {
            response.addRecord(soa(question.getName()), Section.AUTHORITY);
        }
        return response;
    }

    private static SOARecord soa(Name name) {
        return new SOARecord(name, DClass.IN, 600, name("ns.test"), name("hostmaster.test"), 1, 3600, 600, 86400, 60);
    }

    private static Name name(String name) {
        try {
            return Name.fromString(name.endsWith(".") ? name : name + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException(name, e);
        }
    }

    private static String key(String name) {
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
    }

    @Override
    public void close() {
        socket.close();
    }
}
