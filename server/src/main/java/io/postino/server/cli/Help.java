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
            "  config [--all] [--json] [--show-secrets]  the configuration that differs from the shipped one (like postconf -n)",
            "  queue list|flush|delete|hold|release|holds   mail queues (--organisation, --domain, --queue)",
            "  users add|passwd|disable|enable LOGIN   users (password from the prompt or standard input)",
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
                    "Usage: postinoctl queue list    [--organisation ID] [--domain DOMAIN] [--queue NAME] [--route NAME]",
                    "       postinoctl queue flush   [--organisation ID] [--queue NAME]",
                    "       postinoctl queue delete  [--organisation ID] [--queue NAME] (--sender A | --recipient A | --name N | --domain D | --all)",
                    "       postinoctl queue delete  --route NAME [--organisation ID] [--domain D]",
                    "       postinoctl queue hold    (--organisation ID | --queue NAME | --all | --domain D | --route NAME)",
                    "       postinoctl queue release (--organisation ID | --queue NAME | --all | --domain D | --route NAME)",
                    "       postinoctl queue holds",
                    "list: queue, mail name, sender, recipients (comma-separated), next delivery (- for now), one mail a line.",
                    "flush: makes the delayed mail of the outgoing queues due now. delete waits for WebAdmin's task.",
                    "--organisation: that organisation's queues (outgoing.ID, spool.ID); --domain: mails with a recipient there.",
                    "hold: the queue keeps accepting mail but delivers none until released, also across restarts.",
                    "  --organisation holds outgoing.ID, --all every outgoing queue, --queue any queue 'holds' lists",
                    "  (spool.ID too: its mail is then not even processed). Prints: queue, held|released.",
                    "hold --domain D / --route NAME: outgoing mail with a recipient in D, or in a domain that organisations.xml",
                    "  route delivers, waits in its queue (whole, all its recipients; no attempt used, nothing bounced) until",
                    "  released, also across restarts; release makes it due at once. Prints: domain|route, name, held|released.",
                    "holds: every queue that can be held, with held or holdable; then each held domain and route: domain|route, name, held.",
                    "--route NAME (- for direct MX delivery): mail with a recipient whose domain that organisations.xml route",
                    "  delivers (chosen at delivery from <routing> and the recipient's domain); delete --route removes whole mails,",
                    "  held queues included, and prints: route NAME, removed, count. flush refuses --route (exit status 3):",
                    "  queues are per organisation and flushed whole.",
                    CONNECTION);
            case "users":
                return String.join("\n",
                    "Usage: postinoctl users add LOGIN | users passwd LOGIN | users disable LOGIN | users enable LOGIN",
                    "The password is asked twice on the terminal, or read as one line from standard input",
                    "(echo \"$PASSWORD\" | postinoctl users add alice@acme.test); never from the command line.",
                    "add refuses an existing user, passwd, disable and enable a missing one.",
                    "disable: the user keeps its password but cannot log in to send (535 5.7.8, told it is disabled once",
                    "the password is right), and its open sessions cannot start another mail; enable undoes it.",
                    CONNECTION);
            case "config":
                return String.join("\n",
                    "Usage: postinoctl config [--conf DIR] [--all] [--json] [--show-secrets]",
                    "The effective configuration, read offline like check-config (no server needed):",
                    "  env: NAME = value            each POSTINO_* setting taken from the environment",
                    "  FILE: path = value           each value of DIR/FILE that differs from the shipped conf",
                    "  FILE: path (removed; shipped: value)   a shipped value that DIR/FILE no longer has",
                    "  FILE: (not shipped)          a file the distribution does not ship",
                    "A path names XML elements from the root, [@id=...] (or id, name, jmxName) or [n] for repeated ones,",
                    "/@attribute for an attribute; a .properties key is its path. ${sys:...} is shown as written.",
                    "--all: every setting (with its source: environment or default) and every value, changed or not.",
                    "Secrets are shown as ***: values named *secret, *password, *pass, *token, *key (any case), and of URLs",
                    "the user:password@, the path and query values (https://***@hooks.example/***?code=***).",
                    "--show-secrets: print them in clear.",
                    "--json: {\"settings\": [{name, value, default, source}], \"values\": [{file, path, value, shipped, status}]}.",
                    "The shipped conf is the copy inside lib/ (the server's jar), not conf/ which may have been edited.");
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
