package io.postino.server.spool;

import org.apache.james.queue.api.MailQueue;

/**
 * The spool could not store a mail because its file system is full: nothing was stored, and the
 * mail can be offered again once space is back (SMTP answers {@code 452 4.3.1}).
 */
public final class InsufficientStorage extends MailQueue.MailQueueException {
    public InsufficientStorage(String message, Exception cause) {
        super(message, cause);
    }
}
