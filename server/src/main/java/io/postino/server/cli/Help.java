package io.postino.server.cli;

/** The text of {@code postinoctl --help} and of each command's {@code --help}. */
final class Help {
    private static final String CONNECTION = String.join("\n",
        "  --url URL          WebAdmin (default: POSTINO_URL, else conf/webadmin.properties and POSTINO_WEBADMIN_PORT)",
        "  --token-file FILE  token (default: POSTINO_TOKEN_FILE, else <data>/webadmin/operator.token)",
        "  --json             JSON instead of tab-separated lines");

    private Help() {
    }

    static String overview() {
        return String.join("\n",
            "Usage: postinoctl COMMAND [SUBCOMMAND] [OPTIONS]",
            "",
            "  check-config                      validate conf/ without starting the server",
            "  queue list|flush|delete|hold|release   mail queues (--organisation, --domain, --queue)",
            "  users add|passwd|disable LOGIN    users (password from the prompt or standard input)",
            "  dkim generate|activate|records    DKIM keys and the DNS records to publish",
            "  trace FILE.eml --from S --to R    dry run of the pipeline: hooks, matchers, mailets, route, DKIM, verdict",
            "",
            "postinoctl COMMAND --help describes one command.",
            "Exit status: 0 done, 1 request failed or refused, 2 invalid configuration (check-config),",
            "3 not offered by the REST API (nothing done), 64 wrong command line.");
    }

    static String of(String topic) {
        switch (topic) {
            case "check-config":
                return String.join("\n",
                    "Usage: postinoctl check-config [--conf DIR] [--json]",
                    "Runs Postino's start-up checks on DIR (default <installation>/conf) and the POSTINO_* environment,",
                    "without starting it. Prints file:line: message per problem (file: message where no line is known),",
                    "exit status 2 when invalid, 0 (and 'DIR: valid') when valid.");
            case "queue":
                return String.join("\n",
                    "Usage: postinoctl queue list   [--organisation ID] [--domain DOMAIN] [--queue NAME]",
                    "       postinoctl queue flush  [--organisation ID] [--queue NAME]",
                    "       postinoctl queue delete [--organisation ID] [--queue NAME] (--sender A | --recipient A | --name N | --domain D | --all)",
                    "list: queue, mail name, sender, recipients (comma-separated), next delivery (- for now), one mail a line.",
                    "flush: makes the delayed mail of the outgoing queues due now. delete waits for WebAdmin's task.",
                    "--organisation: that organisation's queues (outgoing.ID, spool.ID); --domain: mails with a recipient there.",
                    "hold, release and --route are not offered by the REST API: refused with exit status 3.",
                    CONNECTION);
            case "users":
                return String.join("\n",
                    "Usage: postinoctl users add LOGIN | users passwd LOGIN | users disable LOGIN",
                    "The password is asked twice on the terminal, or read as one line from standard input",
                    "(echo \"$PASSWORD\" | postinoctl users add alice@acme.test); never from the command line.",
                    "add refuses an existing user, passwd a missing one; disable is not offered by the REST API (exit status 3).",
                    CONNECTION);
            case "dkim":
                return String.join("\n",
                    "Usage: postinoctl dkim generate DOMAIN [--selector S] [--algorithm rsa|ed25519] [--bits 2048|3072|4096]",
                    "       postinoctl dkim activate DOMAIN SELECTOR",
                    "       postinoctl dkim records DOMAIN",
                    "Each key: DNS name, TXT, the record's text, active|inactive, selector, algorithm.",
                    "Publish the record, then activate the key.",
                    CONNECTION);
            case "trace":
                return TraceCommand.HELP + "\n" + CONNECTION;
            default:
                return overview();
        }
    }
}
