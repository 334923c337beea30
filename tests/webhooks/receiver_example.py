"""A bundlectl webhook receiver: verify each request with the Standard Webhooks library, handle each webhook-id once."""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["BUNDLECTL_WEBHOOK_SECRET"])  # whsec_…, the secret the subscription names
handled: set[str] = set()  # keep these in your database: bundlectl delivers at least once


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))  # the raw bytes the signature covers
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            event = webhook.verify(body, headers)  # checks the signature and that the timestamp is recent
        except WebhookVerificationError:
            self.send_response(400)  # tampered, replayed, or not signed with our secret
            self.end_headers()
            return
        if headers["webhook-id"] not in handled:  # the log record's digest: the same on every redelivery
            handled.add(headers["webhook-id"])
            print(
                json.dumps({"id": headers["webhook-id"], "type": event["type"], "seq": event["data"]["seq"], "bundle": event["data"]["bundle"]}),
                flush=True,
            )
        self.send_response(204)
        self.end_headers()


server = HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8787"))), Receiver)
print(f"listening on {server.server_address[1]}", file=sys.stderr, flush=True)
server.serve_forever()
