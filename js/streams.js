// The streamed bodies the client reads: lines of an export (NDJSON), and
// server-sent events of a watch.

// Splits text chunks (strings or bytes, as a file stream gives them) into lines
// at '\n'; lines given one by one must end with '\n', as export() writes them.
export async function* lines(source) {
  let rest = '';
  const decoder = new TextDecoder(); // one, streaming: a character may span two chunks
  for await (const chunk of source) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    const parts = text.split('\n');
    rest = parts.pop();
    yield* parts;
  }
  if (rest !== '') yield rest;
}

// Parses a text/event-stream body (a ReadableStream or an async iterable of
// bytes) into { type, data } events.
export async function* serverSentEvents(body) {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of chunksOf(body)) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = { type: 'message', data: '' };
      let fields = 0;
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event.type = line.slice(7);
        else if (line.startsWith('data: ')) event.data += line.slice(6);
        else continue; // a comment (": keep-alive"), which only keeps the stream alive
        fields++;
      }
      if (fields > 0) yield event;
    }
  }
}

// The chunks of a body: a ReadableStream is not async iterable in every
// runtime (Safari's, older Chromium's), so it is read with its reader.
async function* chunksOf(body) {
  if (body === null || body === undefined) throw new TypeError('the response has no body to read events from');
  if (typeof body[Symbol.asyncIterator] === 'function' || typeof body.getReader !== 'function') {
    yield* body;
    return;
  }
  const reader = body.getReader();
  let ended = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        return;
      }
      yield value;
    }
  } catch (error) {
    ended = true;
    throw error;
  } finally {
    // Left early (the watch ended): cancel the body, as for-await does.
    if (!ended) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
