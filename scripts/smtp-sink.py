#!/usr/bin/env python3
"""A local SMTP sink for trying Postino out: accepts every mail and prints it on standard output.

    python3 scripts/smtp-sink.py 127.0.0.1:2526

Only the Python 3 standard library (socketserver), so it runs where `python3 -m smtpd` no longer
does (smtpd and asyncore were removed in Python 3.12). Checked with Python 3.8 to 3.13 (Debian 12
has 3.11). It stores nothing, offers no TLS nor AUTH, and listens where it is told: give it a
loopback address. Ctrl-C (or SIGTERM) stops it.
"""
import signal
import socketserver
import sys
import threading

MAX_LINE = 10000
MAX_MESSAGE = 50 * 1024 * 1024
print_lock = threading.Lock()


class Session(socketserver.StreamRequestHandler):
    timeout = 300

    def reply(self, line):
        self.wfile.write((line + "\r\n").encode("ascii"))
        self.wfile.flush()

    def handle(self):
        sender, recipients = None, []
        self.reply("220 smtp-sink ready")
        while True:
            raw = self.rfile.readline(MAX_LINE)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                sender, recipients = None, []
                self.reply("250-smtp-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING" if verb == "EHLO" else "250 smtp-sink")
            elif verb == "MAIL":
                sender, recipients = line[10:].split(" ")[0].strip("<>"), []
                self.reply("250 2.1.0 OK")
            elif verb == "RCPT":
                if sender is None:
                    self.reply("503 5.5.1 MAIL first")
                    continue
                recipients.append(line[8:].split(" ")[0].strip("<>"))
                self.reply("250 2.1.5 OK")
            elif verb == "DATA":
                if not recipients:
                    self.reply("503 5.5.1 RCPT first")
                    continue
                self.reply("354 end with <CRLF>.<CRLF>")
                content, size = [], 0
                while True:
                    data = self.rfile.readline(MAX_LINE)
                    if not data:
                        return
                    if data in (b".\r\n", b".\n"):
                        break
                    size += len(data)
                    if size <= MAX_MESSAGE:
                        content.append(data[1:] if data.startswith(b".") else data)
                self.show(sender, recipients, b"".join(content))
                self.reply("250 2.0.0 OK: printed")
                sender, recipients = None, []
            elif verb == "RSET":
                sender, recipients = None, []
                self.reply("250 2.0.0 OK")
            elif verb == "NOOP":
                self.reply("250 2.0.0 OK")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("502 5.5.2 not implemented here")

    def show(self, sender, recipients, content):
        with print_lock:
            print("---------- mail from %s for %s (client %s)" % (sender or "<>", ", ".join(recipients), self.client_address[0]))
            print(content.decode("utf-8", "replace").replace("\r\n", "\n"), end="")
            print("---------- end", flush=True)


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    if len(sys.argv) != 2 or ":" not in sys.argv[1]:
        print("usage: smtp-sink.py HOST:PORT   (e.g. 127.0.0.1:2526)", file=sys.stderr)
        return 64
    host, port = sys.argv[1].rsplit(":", 1)
    server = Server((host.strip("[]"), int(port)), Session)
    signal.signal(signal.SIGTERM, lambda number, frame: threading.Thread(target=server.shutdown).start())
    print("smtp-sink: listening on %s:%s" % (host, port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
