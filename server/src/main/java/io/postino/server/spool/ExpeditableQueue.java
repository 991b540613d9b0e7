package io.postino.server.spool;

import java.util.function.Predicate;

/**
 * A queue that can make some of its delayed mail due at once, chosen by name: what
 * {@code ManageableMailQueue.flush()} does for all of it, without cutting short the wait of mail
 * that must wait (RemoteDelivery's retries).
 */
public interface ExpeditableQueue {
    /**
     * Makes due now the delayed mail whose name {@code which} accepts; {@code which} is asked of
     * delayed mail only.
     *
     * @return how many mails were made due
     */
    long expedite(Predicate<String> which);
}
