#!/usr/bin/env python3
"""A webhook receiver to watch hookd's deliveries arrive on your own machine.

    /usr/bin/python3 scripts/receiver.py --port 9000 [--secret whsec_...]

Listens on 127.0.0.1, prints each request it gets (method, path, headers,
body), answers 200 with an empty JSON object and goes on. With --secret (or
HOOKD_RECEIVER_SECRET) it also checks the request's `webhook-signature` the
way docs/receiving.md explains, prints "signature: ok" or "signature: BAD",
and answers 401 to a request whose signature does not verify. Standard
library only. Stop it with Ctrl-C.
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import sys
import time

TOLERANCE_S = 5 * 60  # how far webhook-timestamp may be from now


def verify(secret, headers, body):
    """None when the Standard Webhooks signature of (headers, body) holds for
    secret ('whsec_' + base64), else why not."""
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    if not (msg_id and ts and sigs):
        return "webhook-id, webhook-timestamp or webhook-signature missing"
    if not ts.isdigit() or abs(time.time() - int(ts)) > TOLERANCE_S:
        return "webhook-timestamp too far from now"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    want = "v1," + base64.b64encode(mac).decode()
    if any(hmac.compare_digest(want, s) for s in sigs.split()):
        return None
    return "no v1 signature matches"


class Handler(http.server.BaseHTTPRequestHandler):
    secret = None
    protocol_version = "HTTP/1.1"

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        lines = [f"--- {self.command} {self.path}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        text = body.decode("utf-8", "replace")
        try:
            text = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        except ValueError:
            pass
        lines += ["", text] if body else []
        status = 200
        if self.secret:
            why = verify(self.secret, self.headers, body)
            lines.append("signature: ok" if why is None else f"signature: BAD ({why})")
            status = 200 if why is None else 401
        print("\n".join(lines), flush=True)
        out = b"{}"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, *args):
        pass  # the request itself is printed above


def main():
    p = argparse.ArgumentParser(description="Print the webhooks hookd delivers.")
    p.add_argument("--port", type=int, default=9000, help="port on 127.0.0.1 (default 9000)")
    p.add_argument("--secret", default=os.environ.get("HOOKD_RECEIVER_SECRET"),
                   help="the webhook's secret (whsec_...): check each signature")
    args = p.parse_args()
    Handler.secret = args.secret
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"receiver listening on http://127.0.0.1:{srv.server_port}/", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
