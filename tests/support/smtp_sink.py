"""Loopback SMTP server for driftdeck's notification tests (aiosmtpd, from PyPI).

Requires STARTTLS and AUTH (LOGIN/PLAIN) like a company relay; writes each accepted message to
<out>/<n>.eml with X-Envelope-From / X-Envelope-To / X-Authenticated / X-TLS headers prepended.
Prints "ready <port>" when listening; stops when stdin closes (the test drops its handle).
"""
import argparse
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, out):
        self.out = out
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        path = os.path.join(self.out, "%04d.eml" % self.n)
        head = "X-Envelope-From: %s\r\nX-Envelope-To: %s\r\nX-Authenticated: %s\r\nX-TLS: %s\r\n" % (
            envelope.mail_from,
            ",".join(envelope.rcpt_tos),
            bool(session.authenticated),
            session.ssl is not None,
        )
        with open(path + ".tmp", "wb") as f:
            f.write(head.encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(path + ".tmp", path)
        return "250 OK"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == a.user
            and auth_data.password.decode() == a.password
        )
        return AuthResult(success=ok, handled=False)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    controller = Controller(
        Sink(a.out),
        hostname="127.0.0.1",
        port=a.port,
        server_hostname="localhost",
        tls_context=ctx,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    print("ready %d" % a.port, flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
