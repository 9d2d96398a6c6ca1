#!/usr/bin/python3
"""smtp_sink.py PORTFILE DIR -- an SMTP sink for the iMIP tests (aiosmtpd).

Listens on 127.0.0.1 (a free port, written to PORTFILE once listening) and writes every
message it accepts to DIR/NNNN.eml, byte for byte, with the envelope in DIR/NNNN.rcpt.
With DIR/refuse present, it answers 451 (a temporary failure) instead.
"""
import asyncio
import os
import signal
import socket
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        if os.path.exists(os.path.join(self.outdir, "refuse")):
            return "451 try again later"
        self.n += 1
        base = os.path.join(self.outdir, "%04d" % self.n)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".rcpt", "w") as f:
            f.write(envelope.mail_from + "\n" + "\n".join(envelope.rcpt_tos) + "\n")
        os.rename(base + ".tmp", base + ".eml")
        return "250 OK"


def main():
    portfile, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = Controller(Sink(outdir), hostname="127.0.0.1", port=port)
    c.start()
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(portfile + ".tmp", portfile)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    c.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
