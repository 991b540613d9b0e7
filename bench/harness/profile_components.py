#!/usr/bin/env python3
"""profile_components.py FILE.collapsed (async-profiler, collapsed stacks): share of samples by component (innermost matching frame wins, by rule order within a frame)."""
import sys, collections, re
RULES = [
 ('JIT compiler', lambda fr: fr[0].startswith('[C2 Compiler') or fr[0].startswith('[C1 Compiler')),
 ('GC / VM', lambda fr: fr[0].startswith('[VM Thread') or fr[0].startswith('[GC')),
]
LEAF = [
 ('logging', ('ch/qos/logback', 'org/slf4j')),
 ('DKIM RSA', ('java/math/', 'sun/security/rsa', 'libconscrypt', 'org/conscrypt')),
 ('DKIM other', ('io/postino/mailets/SignDkim', 'org/apache/james/jdkim')),
 ('tracking', ('org/apache/lucene', 'io/postino/server/events', 'io/postino/mailets/RecordEvent', 'io/postino/events')),
 ('spool', ('io/postino/server/spool', 'org/rocksdb', 'com/fasterxml/jackson')),
 ('delivery SMTP client', ('io/postino/server/delivery/NextHop', 'io/postino/server/delivery/SMTPTransport', 'com/sun/mail/smtp', 'javax/mail/Transport', 'javax/mail/Session')),
 ('delivery other', ('transport/mailets/remote', 'io/postino/server/delivery', 'io/postino/server/pacing')),
 ('sender identity', ('io/postino/organisations/SenderIdentity',)),
 ('metrics', ('com/codahale', 'io/postino/server/metrics', 'org/apache/james/metrics')),
 ('mime parsing (javax.mail / mime4j)', ('javax/mail/internet', 'org/apache/james/mime4j', 'com/sun/mail/util')),
 ('postino SMTP hooks', ('io/postino/server/smtp', 'io/postino/server/limits', 'io/postino/server/recipients')),
 ('other postino mailets/matchers', ('io/postino/mailets', 'io/postino/matchers', 'io/postino/organisations')),
 ('james mailet container', ('org/apache/james/mailetcontainer', 'org/apache/james/transport', 'org/apache/mailet', 'org/apache/james/server/core')),
 ('james SMTP protocol', ('org/apache/james/protocols', 'org/apache/james/smtpserver')),
 ('netty / socket I/O', ('io/netty', 'sun/nio/ch')),
 ('reactor', ('reactor/',)),
]
tot = 0; comp = collections.Counter()
for line in open(sys.argv[1]):
    s, _, c = line.rstrip('\n').rpartition(' '); c = int(c); fr = s.split(';')
    tot += c
    name = next((n for n, f in RULES if f(fr)), None)
    if not name:
        for x in reversed(fr):
            name = next((n for n, subs in LEAF if any(sub in x for sub in subs)), None)
            if name: break
    comp[name or 'other (JDK, libraries)'] += c
print(f'{tot} samples')
for n, c in comp.most_common(): print(f'{100*c/tot:5.1f}% {n}')
