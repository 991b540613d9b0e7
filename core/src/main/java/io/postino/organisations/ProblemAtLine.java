package io.postino.organisations;

import org.xml.sax.SAXException;

/** A problem of organisations.xml that the schema cannot see, at the line of the offending element. */
final class ProblemAtLine extends SAXException {
    private final int line;

    ProblemAtLine(int line, String message) {
        super(message);
        this.line = line;
    }

    int line() {
        return line;
    }
}
