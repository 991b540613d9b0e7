package io.postino.organisations;

import java.nio.file.Path;

import io.postino.config.ConfigFileException;

/** organisations.xml cannot be used: where (file, line) and why, in words for the operator. */
public class OrganisationsException extends ConfigFileException {
    public OrganisationsException(Path file, int line, String reason) {
        super(file, line, reason);
    }
}
