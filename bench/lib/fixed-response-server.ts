/**
 * The ceiling for a Node.js serving stack: a bare `node:http` server that reads each request body and
 * answers with one fixed JSON body. Run as its own process so it gets a core of its own, like the
 * servers it is compared with.
 *
 * Usage: node dist/bench/lib/fixed-response-server.js PORT BODY_JSON
 * Prints `listening on http://127.0.0.1:PORT` once bound; exits on SIGTERM or SIGINT.
 */
import { createServer } from 'node:http';
import { serveUntilSignal } from './serve-until-signal.js';

const [portArg = '0', bodyArg = '{}'] = process.argv.slice(2);
const body = Buffer.from(bodyArg);
// Precomputed once: the point of this server is to do no per-request work beyond HTTP itself.
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

const server = createServer((req, res) => {
  // Read (and discard) the whole body, as a real handler must before it answers.
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(body);
  });
});

serveUntilSignal(server, Number(portArg));
