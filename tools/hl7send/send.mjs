// send.mjs sends HL7 v2 messages over MLLP with node-hl7-client (not
// caseflow's code) and prints each ACK as one JSON line:
//   node send.mjs --host 127.0.0.1 --port 2575 msg1.hl7 msg2.hl7 ...
// Each file holds one message, segments separated by CR or LF. Messages are
// sent one at a time, each after the ACK of the one before.
import fs from "node:fs";
import { Client, Message } from "node-hl7-client";

const args = process.argv.slice(2);
let host = "127.0.0.1", port = 2575;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--host") host = args[++i];
  else if (args[i] === "--port") port = Number(args[++i]);
  else files.push(args[i]);
}
const texts = files.map((f) => fs.readFileSync(f, "utf8").replace(/\r?\n/g, "\r").replace(/\r+$/, ""));

const client = new Client({ host, ipv4: true, connectionTimeout: 0 });
let pending = null;
const conn = client.createConnection({ port, waitAck: true, maxConnectionAttempts: 5, retryLow: 200, retryHigh: 1000 }, async (res) => {
  const m = res.getMessage();
  const v = (p) => { try { return m.get(p).toString(); } catch { return ""; } };
  const out = { msa1: v("MSA.1"), msa2: v("MSA.2"), err3: v("ERR.3.1"), err8: v("ERR.8"), type: v("MSH.9.1") };
  if (pending) { const p = pending; pending = null; p(out); }
});
const timer = setTimeout(() => { console.error("hl7send: no ACK in time"); process.exit(2); }, 30000);
try {
  await conn.connect?.();
} catch (e) { /* connects lazily */ }
for (const text of texts) {
  const ack = new Promise((resolve) => { pending = resolve; });
  await conn.sendMessage(new Message({ text }));
  console.log(JSON.stringify(await ack));
}
clearTimeout(timer);
await conn.close();
process.exit(0);
