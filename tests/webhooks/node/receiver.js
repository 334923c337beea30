// A bundlectl webhook receiver: verify each request with the Standard Webhooks library, handle each webhook-id once.
const http = require("node:http");
const { Webhook } = require("standardwebhooks");

const webhook = new Webhook(process.env.BUNDLECTL_WEBHOOK_SECRET); // whsec_…, the secret the subscription names
const handled = new Set(); // keep these in your database: bundlectl delivers at least once

http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8"); // the raw body: the signature covers these exact bytes
    let event;
    try {
      event = webhook.verify(body, request.headers); // checks the signature and that the timestamp is recent
    } catch (error) {
      response.writeHead(400).end(); // tampered, replayed, or not signed with our secret
      return;
    }
    const id = request.headers["webhook-id"]; // the log record's digest: the same on every redelivery
    if (!handled.has(id)) {
      handled.add(id);
      console.log(JSON.stringify({ id, type: event.type, seq: event.data.seq, bundle: event.data.bundle }));
    }
    response.writeHead(204).end();
  });
}).listen(Number(process.env.PORT || 8787), "127.0.0.1", function () {
  console.error(`listening on ${this.address().port}`);
});
