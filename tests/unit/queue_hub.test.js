// shims/queue_hub.js in Node, with a fake core: each listener holds at most
// its window, settled and expired holds free room, listeners share the
// messages, the cap, and the ways listeners end.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueueHub } from '../../shims/queue_hub.js';

const decoder = new TextDecoder();

// A queue of due message ids, leased as the core would: in order, each once.
function fakeCore(count) {
  const due = Array.from({ length: count }, (_, i) => i + 1);
  const calls = [];
  return {
    calls,
    due,
    lease(max, visibilityMs) {
      calls.push({ max, visibilityMs });
      return due.splice(0, max).map((id) => `{"id":${id},"delivery":1,"attempt":0,"value":${id}}`);
    },
  };
}

function newHub(core, { now = () => 0, maxListeners = 3 } = {}) {
  return new QueueHub({
    maxListeners, lifetimeMs: 60_000, stallMs: 60_000, heartbeatMs: 60_000, lease: (max, v) => core.lease(max, v), now,
    setTimer: () => 0, clearTimer: () => {},
  });
}

// Reads the ids of the messages a listener's stream received so far.
async function readIds(reader, count) {
  const ids = [];
  while (ids.length < count) {
    const { value } = await reader.read();
    for (const match of decoder.decode(value).matchAll(/^data: \{"id":(\d+)/gm)) ids.push(Number(match[1]));
  }
  return ids;
}

describe('QueueHub', () => {
  it('gives a listener no more than its window, and more once it settles', async () => {
    const core = fakeCore(10);
    const hub = newHub(core);
    const reader = hub.open({ credential: 'a', concurrency: 3, visibilityMs: 1000 }).stream.getReader();
    hub.pump();
    assert.deepEqual(await readIds(reader, 3), [1, 2, 3]);
    hub.pump();
    assert.deepEqual(core.calls.at(-1), { max: 0, visibilityMs: undefined }, 'no room: only expired leases are processed');
    hub.settled([{ id: 2, delivery: 1 }]);
    hub.pump();
    assert.deepEqual(await readIds(reader, 1), [4]);
    assert.deepEqual(core.calls.at(-1), { max: 1, visibilityMs: 1000 });
  });

  it('frees a hold once its lease deadline passes', async () => {
    const core = fakeCore(5);
    let now = 0;
    const hub = newHub(core, { now: () => now });
    const reader = hub.open({ credential: 'a', concurrency: 1, visibilityMs: 1000 }).stream.getReader();
    hub.pump();
    assert.deepEqual(await readIds(reader, 1), [1]);
    now = 999;
    hub.pump();
    assert.equal(core.due.length, 4, 'still held');
    now = 1000;
    hub.pump();
    assert.deepEqual(await readIds(reader, 1), [2]);
  });

  it('shares due messages between listeners, starting with another one each time', async () => {
    const core = fakeCore(4);
    const hub = newHub(core);
    const a = hub.open({ credential: 'a', concurrency: 1, visibilityMs: 1000 }).stream.getReader();
    const b = hub.open({ credential: 'b', concurrency: 1, visibilityMs: 1000 }).stream.getReader();
    hub.pump();
    const first = [...(await readIds(a, 1)), ...(await readIds(b, 1))];
    assert.deepEqual(first.sort(), [1, 2]);
    hub.settled([{ id: 1, delivery: 1 }, { id: 2, delivery: 1 }]);
    hub.pump();
    const [fromA] = await readIds(a, 1);
    const [fromB] = await readIds(b, 1);
    assert.deepEqual([fromA, fromB].sort(), [3, 4]);
  });

  it('refuses one listener past its cap, and ends listeners by credential', async () => {
    const hub = newHub(fakeCore(0), { maxListeners: 2 });
    const a = hub.open({ credential: 'old', concurrency: 1, visibilityMs: 1000 }).stream.getReader();
    hub.open({ credential: 'new', concurrency: 1, visibilityMs: 1000 });
    const refused = hub.open({ credential: 'new', concurrency: 1, visibilityMs: 1000 }).refused;
    assert.equal(refused.status, 429);
    assert.equal(JSON.parse(refused.body).error.code, 'too_many_listeners');
    hub.endWhere((credential) => credential === 'old', '{"error":{"code":"invalid_token"}}');
    const { value } = await a.read();
    assert.match(decoder.decode(value), /^event: error\ndata: \{"error":\{"code":"invalid_token"\}\}\n\n$/);
    assert.equal((await a.read()).done, true);
    assert.equal(hub.size, 1);
  });
});
