package io.postino.organisations;

import io.postino.config.SchemaValidatedXml;

/** A problem of organisations.xml that the schema cannot see, at the line of the offending element. */
final class ProblemAtLine extends SchemaValidatedXml.ProblemAtLine {
    ProblemAtLine(int line, String message) {
        super(line, message);
    }
}
