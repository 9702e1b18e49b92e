// The peer in bench/e2e_bench.py: nodemailer's pooled SMTP transport, the
// way in-house senders use it. One message per recipient (same text + html
// templates, same sink, same number of connections), optional RSA DKIM.
// Usage: node nodemailer_send.js PORT AUDIENCE.csv BODY.txt BODY.html CONNECTIONS [DKIM_KEY.pem]
'use strict';
const fs = require('fs');
const path = require('path');
const nodemailer = require(path.join(__dirname, 'node_modules', 'nodemailer'));

const [port, csvPath, textPath, htmlPath, conns, keyPath] = process.argv.slice(2);
const text = fs.readFileSync(textPath, 'utf8');
const html = fs.readFileSync(htmlPath, 'utf8');
const rows = fs.readFileSync(csvPath, 'utf8').split('\n').slice(1).filter(Boolean)
  .map((l) => { const [email, first] = l.split(','); return { email, first }; });

const opts = {
  pool: true, host: '127.0.0.1', port: Number(port), secure: false, ignoreTLS: true,
  maxConnections: Number(conns), maxMessages: Infinity,
};
if (keyPath) {
  opts.dkim = { domainName: 'example.com', keySelector: 'bench',
                privateKey: fs.readFileSync(keyPath, 'utf8') };
}
// NODELAY=1: hand nodemailer sockets with Nagle off (its own sockets leave
// it on, and each message then waits out a delayed ACK on loopback). The
// bench reports the faster of the two, so the comparison favours the peer.
if (process.env.NODELAY === '1') {
  const net = require('net');
  opts.getSocket = (o, cb) => {
    const sock = net.connect(o.port, o.host, () => cb(null, { connection: sock }));
    sock.setNoDelay(true);
    sock.once('error', (e) => cb(e));
  };
}
const transport = nodemailer.createTransport(opts);
const fill = (t, r) => t.replaceAll('{{first_name}}', r.first).replaceAll('{{email}}', r.email);

async function main() {
  let next = 0, sent = 0, failed = 0;
  const window = 256;  // messages in flight; the pool queues them on its connections
  async function worker() {
    while (next < rows.length) {
      const r = rows[next++];
      try {
        await transport.sendMail({
          from: 'Example <news@example.com>', to: r.email,
          subject: fill('Changes to your account, {{first_name}}', r),
          text: fill(text, r), html: fill(html, r),
        });
        sent++;
      } catch (e) {
        failed++;
      }
    }
  }
  await Promise.all(Array.from({ length: window }, worker));
  transport.close();
  process.stdout.write(JSON.stringify({ sent, failed }) + '\n');
}
main();
