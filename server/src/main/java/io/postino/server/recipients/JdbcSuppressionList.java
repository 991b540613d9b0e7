package io.postino.server.recipients;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import javax.annotation.PreDestroy;
import javax.sql.DataSource;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;

import io.postino.recipients.Suppression;
import io.postino.recipients.SuppressionList;

/**
 * Suppression lists in the database Postino already uses for domains and users (the embedded H2
 * by default, PostgreSQL when scaled out), in one table with portable SQL. Lookups are cached for
 * {@code suppression.cacheTtl}; changes made through this node clear its cache at once.
 */
public final class JdbcSuppressionList implements SuppressionList {
    private record Key(String organisation, String address) {
    }

    private static final String TABLE = "POSTINO_SUPPRESSION";

    private final DataSource dataSource;
    private final Clock clock;
    private final LoadingCache<Key, Optional<Suppression>> cache;

    public JdbcSuppressionList(DataSource dataSource, Duration cacheTtl, Clock clock) {
        this.dataSource = dataSource;
        this.clock = clock;
        this.cache = Caffeine.newBuilder()
            .maximumSize(cacheTtl.isZero() ? 0 : 100_000)
            .expireAfterWrite(cacheTtl)
            .build(key -> select(key.organisation(), key.address()));
        createTable();
    }

    private void createTable() {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("CREATE TABLE IF NOT EXISTS " + TABLE + " ("
                + "ORGANISATION VARCHAR(64) NOT NULL, "
                + "ADDRESS VARCHAR(320) NOT NULL, "
                + "REASON VARCHAR(16) NOT NULL, "
                + "DETAIL VARCHAR(1000) NOT NULL, "
                + "CREATED_AT BIGINT NOT NULL, "
                + "EXPIRES_AT BIGINT, "
                + "PRIMARY KEY (ORGANISATION, ADDRESS))");
        } catch (SQLException e) {
            throw new UnavailableException("Cannot create the suppression table " + TABLE + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<Suppression> find(String organisation, String address) {
        try {
            return cache.get(new Key(organisation, Suppression.normalise(address)))
                .filter(suppression -> suppression.activeAt(clock.instant()));
        } catch (UnavailableException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new UnavailableException("Cannot read the suppression list: " + e.getMessage(), e);
        }
    }

    /** After a failed lookup, others fail at once for this long, but for one probe at a time. */
    static final Duration FAIL_FAST = Duration.ofSeconds(5);
    private volatile long failingUntil;
    private final java.util.concurrent.atomic.AtomicBoolean probing = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * A hung database makes each lookup wait for the driver's timeouts (seconds): while one just
     * failed, the next ones get {@code 451} at once instead of holding an SMTP thread each, and one
     * probe at a time finds out whether it is back.
     */
    private Optional<Suppression> select(String organisation, String address) {
        boolean probe = false;
        if (clock.millis() < failingUntil) {
            if (!probing.compareAndSet(false, true)) {
                throw new UnavailableException("Cannot read the suppression list: the database failed less than "
                    + FAIL_FAST.toSeconds() + " s ago", null);
            }
            probe = true;
        }
        try {
            Optional<Suppression> found = query(organisation, address);
            failingUntil = 0;
            return found;
        } catch (UnavailableException e) {
            failingUntil = clock.millis() + FAIL_FAST.toMillis();
            throw e;
        } finally {
            if (probe) {
                probing.set(false);
            }
        }
    }

    private Optional<Suppression> query(String organisation, String address) {
        try (Connection connection = dataSource.getConnection();
             PreparedStatement statement = connection.prepareStatement("SELECT ORGANISATION, ADDRESS, REASON, DETAIL, CREATED_AT, EXPIRES_AT FROM "
                 + TABLE + " WHERE ORGANISATION = ? AND ADDRESS = ?")) {
            statement.setString(1, organisation);
            statement.setString(2, address);
            try (ResultSet rows = statement.executeQuery()) {
                return rows.next() ? Optional.of(read(rows)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new UnavailableException("Cannot read the suppression list: " + e.getMessage(), e);
        }
    }

    /**
     * Update, else insert; a concurrent insert of the same address (two bounces at once) turns
     * into an update. Portable SQL: H2 and PostgreSQL alike.
     */
    @Override
    public void add(Suppression suppression) {
        try (Connection connection = dataSource.getConnection()) {
            if (update(connection, suppression) == 0) {
                try {
                    insert(connection, suppression);
                } catch (SQLException e) {
                    if (e.getSQLState() == null || !e.getSQLState().startsWith("23")) {
                        throw e;
                    }
                    update(connection, suppression);
                }
            }
        } catch (SQLException e) {
            throw new UnavailableException("Cannot write the suppression list: " + e.getMessage(), e);
        } finally {
            cache.invalidate(new Key(suppression.organisation(), suppression.address()));
        }
    }

    private static int update(Connection connection, Suppression suppression) throws SQLException {
        try (PreparedStatement update = connection.prepareStatement("UPDATE " + TABLE
            + " SET REASON = ?, DETAIL = ?, CREATED_AT = ?, EXPIRES_AT = ? WHERE ORGANISATION = ? AND ADDRESS = ?")) {
            update.setString(1, suppression.reason());
            update.setString(2, detail(suppression));
            update.setLong(3, suppression.createdAt().toEpochMilli());
            expiry(update, 4, suppression);
            update.setString(5, suppression.organisation());
            update.setString(6, suppression.address());
            return update.executeUpdate();
        }
    }

    private static void insert(Connection connection, Suppression suppression) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO " + TABLE
            + " (ORGANISATION, ADDRESS, REASON, DETAIL, CREATED_AT, EXPIRES_AT) VALUES (?, ?, ?, ?, ?, ?)")) {
            insert.setString(1, suppression.organisation());
            insert.setString(2, suppression.address());
            insert.setString(3, suppression.reason());
            insert.setString(4, detail(suppression));
            insert.setLong(5, suppression.createdAt().toEpochMilli());
            expiry(insert, 6, suppression);
            insert.executeUpdate();
        }
    }

    private static String detail(Suppression suppression) {
        String detail = suppression.detail();
        return detail.length() > 1000 ? detail.substring(0, 1000) : detail;
    }

    private static void expiry(PreparedStatement statement, int index, Suppression suppression) throws SQLException {
        if (suppression.expiresAt().isPresent()) {
            statement.setLong(index, suppression.expiresAt().get().toEpochMilli());
        } else {
            statement.setNull(index, Types.BIGINT);
        }
    }

    /** Closes the connection pool, when it is one; called when the server stops. */
    @PreDestroy
    public void close() {
        if (dataSource instanceof AutoCloseable) {
            try {
                ((AutoCloseable) dataSource).close();
            } catch (Exception e) {
                // stopping anyway
            }
        }
    }

    @Override
    public boolean remove(String organisation, String address) {
        String normalised = Suppression.normalise(address);
        try (Connection connection = dataSource.getConnection();
             PreparedStatement statement = connection.prepareStatement("DELETE FROM " + TABLE + " WHERE ORGANISATION = ? AND ADDRESS = ?")) {
            statement.setString(1, organisation);
            statement.setString(2, normalised);
            return statement.executeUpdate() > 0;
        } catch (SQLException e) {
            throw new UnavailableException("Cannot write the suppression list: " + e.getMessage(), e);
        } finally {
            cache.invalidate(new Key(organisation, normalised));
        }
    }

    @Override
    public List<Suppression> list(String organisation, int offset, int limit) {
        try (Connection connection = dataSource.getConnection();
             PreparedStatement statement = connection.prepareStatement("SELECT ORGANISATION, ADDRESS, REASON, DETAIL, CREATED_AT, EXPIRES_AT FROM "
                 + TABLE + " WHERE ORGANISATION = ? AND (EXPIRES_AT IS NULL OR EXPIRES_AT > ?) ORDER BY ADDRESS OFFSET ? ROWS FETCH NEXT ? ROWS ONLY")) {
            statement.setString(1, organisation);
            statement.setLong(2, clock.millis());
            statement.setInt(3, offset);
            statement.setInt(4, limit);
            List<Suppression> page = new ArrayList<>();
            try (ResultSet rows = statement.executeQuery()) {
                while (rows.next()) {
                    page.add(read(rows));
                }
            }
            return page;
        } catch (SQLException e) {
            throw new UnavailableException("Cannot read the suppression list: " + e.getMessage(), e);
        }
    }

    private static Suppression read(ResultSet row) throws SQLException {
        long expires = row.getLong(6);
        Optional<Instant> expiresAt = row.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(expires));
        return new Suppression(row.getString(1), row.getString(2), row.getString(3), row.getString(4),
            Instant.ofEpochMilli(row.getLong(5)), expiresAt);
    }
}
