package io.postino.matchers;

import javax.mail.MessagingException;

import org.apache.mailet.base.GenericMatcher;

/** A matcher that takes no condition: one given (a typo, a misplaced argument) stops start-up. */
abstract class WithoutCondition extends GenericMatcher {
    @Override
    public void init() throws MessagingException {
        if (getCondition() != null && !getCondition().isBlank()) {
            throw new MessagingException(getClass().getSimpleName() + " takes no condition, got '" + getCondition() + "'");
        }
    }
}
