package io.postino.server.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Properties;

import javax.mail.Address;
import javax.mail.Session;
import javax.mail.internet.InternetAddress;
import javax.mail.internet.MimeMessage;

import org.apache.james.core.MailAddress;
import org.apache.james.transport.mailets.remote.delivery.AddressesArrayToMailAddressListConverter;
import org.junit.jupiter.api.Test;

import com.sun.mail.smtp.SMTPSendFailedException;

class Utf8EnvelopeTest {
    private static final List<String> RECIPIENTS = List.of("plain@xn--bcher-kva.example", "\"jösé\"@xn--bcher-kva.example",
        "\"john smith\"@example.com");

    /** The recipients as RemoteDelivery gives them to the transport. */
    private static Address[] asRemoteDeliveryGivesThem() throws Exception {
        Address[] addresses = new Address[RECIPIENTS.size()];
        for (int i = 0; i < addresses.length; i++) {
            addresses[i] = new MailAddress(RECIPIENTS.get(i)).toInternetAddress().orElseThrow();
        }
        return addresses;
    }

    private static Utf8Envelope envelope() throws Exception {
        MimeMessage message = new MimeMessage(Session.getInstance(new Properties()));
        message.setText("hello");
        message.saveChanges();
        return Utf8Envelope.of("app@acme.test", asRemoteDeliveryGivesThem(), message, true);
    }

    private static List<MailAddress> asJamesReadsThem(Address[] reported) {
        return AddressesArrayToMailAddressListConverter.getAddressesAsMailAddress(reported);
    }

    @Test
    void jamesReadsBackEveryRecipientTheTransportReportsQuotedLocalPartsIncluded() throws Exception {
        Utf8Envelope envelope = envelope();

        assertThat(asJamesReadsThem(envelope.recipients())).extracting(MailAddress::asString).containsExactlyElementsOf(RECIPIENTS);
    }

    @Test
    void aPartialFailureNamesOnlyTheRecipientsThatNeedSmtpUtf8AsInvalid() throws Exception {
        Utf8Envelope envelope = envelope();
        Address[] failing = envelope.utf8Recipients().toArray(new Address[0]);
        Address[] sent = envelope.asciiRecipients().toArray(new Address[0]);

        SMTPSendFailedException failure = new SMTPSendFailedException("RCPT TO", 553, "553 5.6.7 no SMTPUTF8",
            Utf8Envelope.refusals(envelope.utf8Recipients(), "553 5.6.7 no SMTPUTF8"), sent, new Address[0], failing);

        assertThat(asJamesReadsThem(failure.getInvalidAddresses())).extracting(MailAddress::asString)
            .containsExactly("\"jösé\"@xn--bcher-kva.example");
        assertThat(asJamesReadsThem(failure.getValidSentAddresses())).extracting(MailAddress::asString)
            .containsExactly("plain@xn--bcher-kva.example", "\"john smith\"@example.com");
    }

    @Test
    void theReportedRecipientIsTheSameAddressForJavaMail() throws Exception {
        InternetAddress reported = envelope().recipients()[1];

        assertThat(reported).isEqualTo(new InternetAddress("\"jösé\"@xn--bcher-kva.example"));
        assertThat(reported.getAddress()).isEqualTo("\"jösé\"@xn--bcher-kva.example");
    }
}
