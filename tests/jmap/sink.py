"""An SMTP sink for the JMAP tests: stores each message it receives, with its SMTP envelope, and
delivers it to the local mailboxes it names over LMTP.

Writes NNNN.eml (the DATA bytes exactly as received, after SMTP dot-unstuffing) and NNNN.json
({"mailFrom": ..., "rcptTo": [...]}) into --dir; the .json is written last, so its presence means
the message is complete. Listens on 127.0.0.1 only. Started by tests/jmap/server.sh.

With --lmtp HOST:PORT and --deliver ADDR,..., the recipients among those addresses also get the
message in their INBOX: it is handed, byte for byte, to that LMTP server (Cyrus's lmtpd) after
the SMTP reply, as a mail server's queue would (so that the submitting server is not waiting on
its own delivery). Each attempt's outcome goes to NNNN.delivery (JSON: {"delivered": [...],
"failed": {addr: reason}}); other recipients are only stored, as before.
"""

import argparse
import asyncio
import json
import os
import signal
import smtplib
import sys
import threading
import time

from aiosmtpd.controller import Controller


def deliver(lmtp, mail_from, rcpts, data, base):
    """Hand `data` to the LMTP server, one recipient per transaction (smtplib reads one reply to
    DATA, LMTP gives one per recipient). Retries for a few seconds; records the outcome."""
    host, port = lmtp.rsplit(":", 1)
    delivered, failed = [], {}
    for rcpt in rcpts:
        for attempt in range(10):
            try:
                with smtplib.LMTP(host, int(port), timeout=30) as conn:
                    conn.sendmail(mail_from, [rcpt], data)
                delivered.append(rcpt)
                failed.pop(rcpt, None)
                break
            except (OSError, smtplib.SMTPException) as err:
                failed[rcpt] = str(err)
                time.sleep(0.5 * (attempt + 1))
    for rcpt, why in failed.items():
        print(f"sink: LMTP delivery to {rcpt} failed: {why}", file=sys.stderr, flush=True)
    with open(base + ".delivery.tmp", "w") as f:
        json.dump({"delivered": delivered, "failed": failed}, f)
    os.replace(base + ".delivery.tmp", base + ".delivery")


class Store:
    def __init__(self, directory, lmtp=None, local=()):
        self.directory = directory
        self.lmtp = lmtp
        self.local = {a.lower() for a in local}
        self.count = len([n for n in os.listdir(directory) if n.endswith(".json")])

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, f"{self.count:04d}")
        data = envelope.original_content or envelope.content
        with open(base + ".eml", "wb") as f:
            f.write(data)
        meta = {"mailFrom": envelope.mail_from, "rcptTo": list(envelope.rcpt_tos)}
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.replace(base + ".json.tmp", base + ".json")
        rcpts = [r for r in envelope.rcpt_tos if r.lower() in self.local]
        if self.lmtp and rcpts:
            threading.Thread(target=deliver, args=(self.lmtp, envelope.mail_from, rcpts, data, base),
                             daemon=True).start()
        return "250 OK stored"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--pidfile", required=True)
    parser.add_argument("--lmtp", help="HOST:PORT of an LMTP server for local delivery")
    parser.add_argument("--deliver", default="", help="comma-separated local addresses")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    local = [a.strip() for a in args.deliver.split(",") if a.strip()]
    controller = Controller(Store(args.dir, args.lmtp, local), hostname="127.0.0.1",
                            port=args.port, decode_data=False, data_size_limit=64 << 20)
    controller.start()
    with open(args.pidfile, "w") as f:
        f.write(str(os.getpid()))
    loop = asyncio.new_event_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    loop.run_until_complete(stop)
    controller.stop()


if __name__ == "__main__":
    main()
