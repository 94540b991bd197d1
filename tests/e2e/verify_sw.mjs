// verify_sw.mjs — checks deliveries with the standardwebhooks npm library, as
// a receiver would. Reads a JSON array of {secret, headers, body} on stdin
// (body: the request body as received, a UTF-8 string) and prints a JSON array
// with, for each, {"ok": true} when `new Webhook(secret).verify(body, headers)`
// accepts it, else {"ok": false, "error": "<why>"}.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = JSON.parse(input).map(({ secret, headers, body }) => {
  try {
    new Webhook(secret).verify(body, headers);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: String(e && e.message ? e.message : e) };
  }
});
process.stdout.write(JSON.stringify(out) + "\n");
