package io.postino.server.recipients;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;

import org.apache.james.core.Domain;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.domainlist.api.DomainListException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;

/**
 * The served domains, asked at every RCPT TO and by James for every mail ("is this domain
 * local?"), from memory instead of the database: each answer is kept and refreshed in the
 * background {@code refresh} after it was loaded, and while the database cannot answer (down,
 * hung) the last answer stands, so SMTP neither waits for it nor fails. A domain added or removed
 * through this node counts at once; through another node, within {@code refresh}.
 */
public final class CachedDomainList implements DomainList {
    private static final Logger LOGGER = LoggerFactory.getLogger(CachedDomainList.class);

    private final DomainList database;
    private final LoadingCache<Domain, Boolean> contains;

    public CachedDomainList(DomainList database, Duration refresh) {
        this.database = database;
        this.contains = Caffeine.newBuilder()
            .maximumSize(100_000)
            .refreshAfterWrite(refresh)
            .build(this::load);
    }

    private Boolean load(Domain domain) throws DomainListException {
        return database.containsDomain(domain);
    }

    @Override
    public boolean containsDomain(Domain domain) throws DomainListException {
        try {
            return contains.get(domain);
        } catch (CompletionException | IllegalStateException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            if (cause instanceof DomainListException) {
                throw (DomainListException) cause;
            }
            throw new DomainListException("Cannot read the domain list: " + cause.getMessage(), cause instanceof Exception ? (Exception) cause : e);
        } catch (RuntimeException e) {
            LOGGER.debug("Domain list lookup of {} failed", domain.asString(), e);
            throw new DomainListException("Cannot read the domain list: " + e.getMessage(), e);
        }
    }

    @Override
    public List<Domain> getDomains() throws DomainListException {
        return database.getDomains();
    }

    @Override
    public void addDomain(Domain domain) throws DomainListException {
        database.addDomain(domain);
        contains.invalidate(domain);
    }

    @Override
    public void removeDomain(Domain domain) throws DomainListException {
        database.removeDomain(domain);
        contains.invalidate(domain);
    }

    @Override
    public Domain getDefaultDomain() throws DomainListException {
        return database.getDefaultDomain();
    }
}
