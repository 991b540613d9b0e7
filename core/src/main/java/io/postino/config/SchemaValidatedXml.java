package io.postino.config;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import javax.xml.XMLConstants;
import javax.xml.parsers.SAXParserFactory;
import javax.xml.transform.stream.StreamSource;
import javax.xml.validation.Schema;
import javax.xml.validation.SchemaFactory;
import javax.xml.validation.Validator;

import org.xml.sax.InputSource;
import org.xml.sax.Locator;
import org.xml.sax.SAXException;
import org.xml.sax.SAXParseException;
import org.xml.sax.helpers.DefaultHandler;

/**
 * Reads one of Postino's own XML files: checks it against its schema (shipped beside it in conf/),
 * then hands it to a SAX handler that builds the model and checks what a schema cannot. DOCTYPEs
 * and external entities are refused. Every problem names the file and the line.
 */
public final class SchemaValidatedXml {
    /** A problem a handler finds, at the line of the offending element. */
    public static class ProblemAtLine extends SAXException {
        private final int line;

        public ProblemAtLine(int line, String message) {
            super(message);
            this.line = line;
        }

        public int line() {
            return line;
        }
    }

    /** A SAX handler that knows the line it is on, for {@link ProblemAtLine}. */
    public abstract static class LineAwareHandler extends DefaultHandler {
        private Locator locator;

        @Override
        public void setDocumentLocator(Locator locator) {
            this.locator = locator;
        }

        protected int line() {
            return locator == null ? 0 : locator.getLineNumber();
        }

        @Override
        public void error(SAXParseException e) throws SAXException {
            throw e;
        }

        @Override
        public void fatalError(SAXParseException e) throws SAXException {
            throw e;
        }
    }

    private SchemaValidatedXml() {
    }

    public static Schema schema(URL location) {
        if (location == null) {
            throw new IllegalStateException("schema missing from the classpath");
        }
        try {
            return SchemaFactory.newInstance(XMLConstants.W3C_XML_SCHEMA_NS_URI).newSchema(location);
        } catch (SAXException e) {
            throw new IllegalStateException(location + " is not a valid schema", e);
        }
    }

    /** Validates and parses; {@code missingHint} says what to do when the file is absent. */
    public static void read(Path file, Schema schema, DefaultHandler handler, String missingHint) throws ConfigFileException {
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ConfigFileException(file, 0, "file is missing (" + missingHint + ")");
        } catch (IOException e) {
            throw new ConfigFileException(file, 0, "cannot be read: " + e.getMessage());
        }
        try {
            Validator validator = schema.newValidator();
            validator.setProperty(XMLConstants.ACCESS_EXTERNAL_DTD, "");
            validator.setProperty(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
            validator.validate(new StreamSource(new ByteArrayInputStream(content), file.toUri().toString()));
        } catch (SAXParseException e) {
            throw new ConfigFileException(file, e.getLineNumber(), withoutSchemaRuleId(e.getMessage()));
        } catch (SAXException | IOException e) {
            throw new ConfigFileException(file, 0, "cannot be read: " + e.getMessage());
        }
        try {
            SAXParserFactory factory = SAXParserFactory.newInstance();
            factory.setNamespaceAware(true);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            InputSource source = new InputSource(new ByteArrayInputStream(content));
            source.setSystemId(file.toUri().toString());
            factory.newSAXParser().parse(source, handler);
        } catch (SAXParseException e) {
            throw new ConfigFileException(file, e.getLineNumber(), e.getMessage());
        } catch (ProblemAtLine e) {
            throw new ConfigFileException(file, e.line(), e.getMessage());
        } catch (Exception e) {
            throw new ConfigFileException(file, 0, "cannot be read: " + e.getMessage());
        }
    }

    /** "cvc-pattern-valid: Value 'x' is not facet-valid..." reads better without the rule id. */
    private static String withoutSchemaRuleId(String message) {
        return message == null ? "does not match its schema" : message.replaceFirst("^cvc-[a-zA-Z0-9.\\-]+: ", "");
    }
}
