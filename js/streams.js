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

// Parses a text/event-stream body into { type, data } events.
export async function* serverSentEvents(body) {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
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

export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
