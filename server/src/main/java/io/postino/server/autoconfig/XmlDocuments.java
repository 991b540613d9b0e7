package io.postino.server.autoconfig;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerException;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.xml.sax.SAXException;

/**
 * Building the autoconfiguration documents as DOM trees (so every value is escaped), writing them
 * out indented in UTF-8, and reading a client's request without DTDs or external entities.
 */
final class XmlDocuments {
    private XmlDocuments() {
    }

    static Document newDocument() {
        try {
            return builder().newDocument();
        } catch (ParserConfigurationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A child element of {@code parent} in the parent's namespace, with {@code text} if not null. */
    static Element child(Element parent, String name, String text) {
        Element element = parent.getOwnerDocument().createElementNS(parent.getNamespaceURI(), name);
        if (text != null) {
            element.setTextContent(text);
        }
        parent.appendChild(element);
        return element;
    }

    /** The document in UTF-8, indented, with the public and system ids of a DOCTYPE when given. */
    static byte[] write(Document document, String doctypePublic, String doctypeSystem) {
        try {
            TransformerFactory factory = TransformerFactory.newInstance();
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            Transformer transformer = factory.newTransformer();
            transformer.setOutputProperty(OutputKeys.ENCODING, "UTF-8");
            // Written by hand below: the JDK's puts the root element on the declaration's line.
            transformer.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
            transformer.setOutputProperty(OutputKeys.INDENT, "yes");
            transformer.setOutputProperty("{http://xml.apache.org/xslt}indent-amount", "2");
            if (doctypePublic != null) {
                transformer.setOutputProperty(OutputKeys.DOCTYPE_PUBLIC, doctypePublic);
                transformer.setOutputProperty(OutputKeys.DOCTYPE_SYSTEM, doctypeSystem);
            }
            document.setXmlStandalone(true);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            transformer.transform(new DOMSource(document), new StreamResult(out));
            return out.toByteArray();
        } catch (TransformerException e) {
            throw new IllegalStateException("Cannot write an autoconfiguration document", e);
        }
    }

    /**
     * Parses a request. A DOCTYPE is refused outright, so no entity (internal or external, the
     * XXE and "billion laughs" attacks) is ever declared, let alone fetched or expanded.
     *
     * @throws SAXException with the parser's reason when the request is not well-formed or has a DOCTYPE
     */
    static Document parseRequest(InputStream input) throws SAXException, IOException {
        try {
            DocumentBuilder builder = builder();
            builder.setErrorHandler(null);
            return builder.parse(input);
        } catch (ParserConfigurationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static DocumentBuilder builder() throws ParserConfigurationException {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        factory.setFeature("http://xml.org/sax/features/external-general-entities", false);
        factory.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
        factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        factory.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
        factory.setAttribute(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
        factory.setXIncludeAware(false);
        factory.setExpandEntityReferences(false);
        return factory.newDocumentBuilder();
    }
}
