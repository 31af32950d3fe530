"""An SMTP sink for the JMAP tests: stores each message it receives, with its SMTP envelope.

Writes NNNN.eml (the DATA bytes exactly as received, after SMTP dot-unstuffing) and NNNN.json
({"mailFrom": ..., "rcptTo": [...]}) into --dir; the .json is written last, so its presence means
the message is complete. Listens on 127.0.0.1 only. Started by tests/jmap/server.sh.
"""

import argparse
import asyncio
import json
import os
import signal

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, directory):
        self.directory = directory
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
        return "250 OK stored"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--pidfile", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(Store(args.dir), hostname="127.0.0.1", port=args.port,
                            decode_data=False, data_size_limit=64 << 20)
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
