// The local store's public port. wrangler dev (workerd) speaks only
// HTTP/1.1, but Deno's KV Connect client speaks HTTP/2 with prior knowledge
// (h2c) to http:// URLs (docs/design/kv-connect.md 3.2). So this server
// reads the first bytes of each connection: the HTTP/2 preface goes to a
// node:http2 server that sends each stream on to wrangler as an HTTP/1.1
// request; anything else is piped to wrangler at the TCP level, so HTTP/1.1
// clients pay no HTTP-level proxy.
//
// Bounds (docs/reliability.md, "Bounds"), against a client that holds
// resources while sending nothing useful:
//   - a connection that has sent no byte, or only part of the preface, is
//     closed after PREFACE_TIMEOUT_MS (any other byte decides at once; 10 s
//     is ample for a client, which sends as soon as it connects);
//   - at most MAX_CONNECTIONS connections at once, of either kind (the
//     next is closed on accept);
//   - at most MAX_STREAMS_PER_SESSION concurrent streams per HTTP/2
//     connection (its SETTINGS; one watch holds a stream, and a store has at
//     most 64 watches, so one Deno client can hold them all and still read);
//   - node:http2's own defaults: 10 MB of memory per session
//     (maxSessionMemory), 64 KiB of request headers (maxHeaderListSize).

import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const PREFACE_TIMEOUT_MS = 10_000;
export const MAX_CONNECTIONS = 1024;
export const MAX_STREAMS_PER_SESSION = 100;

// Hop-by-hop headers: meaningless across the protocol change, and node:http2
// refuses to send the connection-specific ones.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te',
  'http2-settings', 'host']);

/**
 * Listens on host:port and forwards to wrangler on 127.0.0.1:upstreamPort.
 * Returns { url, close() }; close() ends every connection and resolves when
 * the port is free.
 */
export async function startH2cBridge({ port, host = '127.0.0.1', upstreamPort }) {
  const agent = new http.Agent({ keepAlive: true });
  const h2 = http2.createServer({ settings: { maxConcurrentStreams: MAX_STREAMS_PER_SESSION } });
  h2.on('stream', (stream, headers) => forwardStream(stream, headers, upstreamPort, agent));
  h2.on('sessionError', () => {}); // the session is destroyed; nothing to tell

  const sockets = new Set();
  // allowHalfOpen: a client that shuts down its sending side still gets the
  // rest of its response through the TCP pipe.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    sniff(socket, h2, upstreamPort);
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.listen(port, host);
  await new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  // From now on an error is one connection's (accept failing, e.g. out of
  // file descriptors): say so, and keep serving the others.
  server.on('error', (error) => console.error(`h2c bridge: ${error.message}`));

  let closed;
  const close = () => {
    closed ??= new Promise((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      agent.destroy();
    });
    return closed;
  };
  return { url: `http://${host}:${server.address().port}`, close };
}

// Reads until the bytes decide: 24 bytes of preface, or a byte that differs.
function sniff(socket, h2, upstreamPort) {
  let head = Buffer.alloc(0);
  const onTimeout = () => socket.destroy();
  socket.setTimeout(PREFACE_TIMEOUT_MS, onTimeout);
  socket.on('error', () => {}); // a reset before the bytes decide: just gone
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const length = Math.min(head.length, PREFACE.length);
    const prefix = head.subarray(0, length).equals(PREFACE.subarray(0, length));
    if (prefix && head.length < PREFACE.length) return; // a split preface: wait for more
    socket.off('data', onData);
    socket.pause();
    socket.setTimeout(0, onTimeout);
    if (prefix) {
      // node:http2 reads what is already in the socket's buffer first.
      socket.unshift(head);
      socket.allowHalfOpen = false; // as in node:http2's own server
      h2.emit('connection', socket);
    } else {
      pipeToUpstream(socket, head, upstreamPort);
    }
  };
  socket.on('data', onData);
}

// HTTP/1.1 (or anything not HTTP/2): a plain TCP pipe to wrangler.
function pipeToUpstream(socket, head, upstreamPort) {
  const upstream = net.connect({ port: upstreamPort, host: '127.0.0.1', allowHalfOpen: true });
  upstream.setNoDelay(true);
  socket.setNoDelay(true);
  const destroyBoth = () => {
    socket.destroy();
    upstream.destroy();
  };
  upstream.on('error', destroyBoth);
  socket.on('error', destroyBoth);
  // A half-close (FIN) travels through pipe() as end(), after the data
  // before it. The client's socket closes only once wrangler's side has
  // ended, so it may take the upstream one with it (and does, if the bridge
  // closes it); not the other way round, which would cut off a response
  // still on its way to a slow client.
  socket.on('close', () => upstream.destroy());
  upstream.write(head);
  socket.pipe(upstream);
  upstream.pipe(socket);
  socket.resume();
}

// One HTTP/2 stream as one HTTP/1.1 request to wrangler, both bodies
// streamed as they come (watch responses are long-lived streams).
function forwardStream(stream, headers, upstreamPort, agent) {
  stream.on('error', () => {}); // a reset stream: handled on 'close'
  const upstreamHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(':') && !HOP_BY_HOP.has(name)) upstreamHeaders[name] = value;
  }
  // The client's authority, so the Worker sees the URL the client used (KV
  // Connect answers with absolute endpoint URLs built from it).
  const authority = headers[':authority'] ?? headers.host;
  if (authority !== undefined) upstreamHeaders.host = authority;
  let request;
  try {
    request = http.request({
      host: '127.0.0.1', port: upstreamPort, agent, method: headers[':method'], path: headers[':path'],
      headers: upstreamHeaders,
    });
  } catch (error) {
    // What HTTP/2 allows and HTTP/1.1 does not (a space in the path, ...).
    stream.respond({ ':status': 400, 'content-type': 'text/plain; charset=utf-8' });
    stream.end(`h2c bridge: not expressible in HTTP/1.1: ${error.message}\n`);
    return;
  }
  let complete = false;
  // The client reset the stream (or its connection went): abort upstream.
  stream.on('close', () => {
    if (!complete) request.destroy();
  });
  request.on('error', (error) => {
    if (stream.destroyed) return;
    if (!stream.headersSent) {
      stream.respond({ ':status': 502, 'content-type': 'text/plain; charset=utf-8' });
      stream.end(`h2c bridge: no answer from wrangler dev on port ${upstreamPort}: ${error.code ?? error.message}\n`);
    } else {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    }
  });
  request.on('response', (response) => {
    if (stream.destroyed) return;
    const responseHeaders = { ':status': response.statusCode };
    for (const [name, value] of Object.entries(response.headers)) {
      if (!HOP_BY_HOP.has(name)) responseHeaders[name] = value;
    }
    response.on('end', () => (complete = true));
    // Upstream ended mid-body: reset the stream rather than end it, so the
    // client does not take a truncated body for a whole one.
    response.on('close', () => {
      if (!response.complete && !stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    });
    response.on('error', () => {}); // seen on 'close'
    stream.respond(responseHeaders); // ends the stream itself for HEAD, 204 and 304
    if (stream.writableEnded) response.resume();
    else response.pipe(stream);
  });
  stream.pipe(request);
}
