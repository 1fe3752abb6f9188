// A fault-injecting HTTP proxy (node:http) between a client under test and
// the emulator: tests/e2e/client_faults.test.js and queues_client.test.js
// lose answers, stall requests and cut streams with it.
import { createServer, request as httpRequest } from 'node:http';

/**
 * A proxy to `upstream` (a URL). `plan(request)` decides what happens to
 * each request (`{ method, path, headers, body, index }`, index counting
 * every request): 'forward' (the default; streams the answer back),
 * 'drop' (forward it, read the whole answer, so the store did the work,
 * then destroy the client's connection: the answer is lost), 'stall'
 * (never answer), 'cut' (forward, then destroy the connection after the
 * first event of the answer's body: a cut stream), `{ status, headers,
 * body }` (answer that instead of forwarding), or a promise of one of
 * these. `requests` records every request and `answers` every answer the
 * proxy got from upstream ({ path, status, headers, dropped }).
 */
export async function startProxy(upstream, plan = () => 'forward') {
  const requests = [];
  const answers = [];
  const sockets = new Set();
  const target = new URL(upstream);
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const recorded = { method: req.method, path: req.url, headers: req.headers, body: body.toString('utf8'), index: requests.length };
    requests.push(recorded);
    const action = (await plan(recorded)) ?? 'forward';
    if (action === 'stall') return; // the client's timeout ends it
    if (typeof action === 'object') {
      res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers });
      res.end(JSON.stringify(action.body ?? { error: { code: `http_${action.status}`, message: 'from the proxy' } }));
      return;
    }
    const upstreamRequest = httpRequest(
      // agent: false, a connection per request: no kept-alive socket to the
      // emulator outlives the proxy (npm test's emulator outlives this file).
      {
        host: target.hostname, port: target.port, method: req.method, path: req.url,
        headers: { ...req.headers, host: target.host }, agent: false,
      },
      async (answer) => {
        answers.push({ path: req.url, status: answer.statusCode, headers: answer.headers, dropped: action === 'drop' });
        if (action === 'drop') {
          for await (const chunk of answer); // the whole answer: the store has done its work
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.statusCode, answer.headers);
        if (action === 'cut') {
          // Pass the first whole event (a chunk may hold part of one), then cut.
          let seen = '';
          const onData = (chunk) => {
            res.write(chunk);
            seen += chunk.toString('utf8');
            if (!seen.includes('\n\n')) return;
            answer.off('data', onData);
            setTimeout(() => {
              answer.destroy();
              req.socket.destroy();
            }, 20);
          };
          answer.on('data', onData);
          return;
        }
        answer.pipe(res);
      },
    );
    upstreamRequest.on('error', () => req.socket.destroy());
    // A client gone (or cut) takes its upstream request with it: a watch
    // stream from the emulator would otherwise outlive the proxy.
    res.on('close', () => upstreamRequest.destroy());
    upstreamRequest.end(body);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    answers,
    routed: (route) => requests.filter((request) => request.path === `/v1/${route}`),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
