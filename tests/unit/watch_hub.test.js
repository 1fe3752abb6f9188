// shims/watch_hub.js in Node: the bytes a watcher reads, the cap, the bound
// of one event per watch, and the ways a watch ends.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WatchHub } from '../../shims/watch_hub.js';

const decoder = new TextDecoder();

// Timers that fire only when the test advances the clock.
function fakeClock() {
  let now = 0;
  let nextId = 0;
  const timers = new Map();
  return {
    setTimer(fn, ms) {
      timers.set(++nextId, { at: now + ms, fn });
      return nextId;
    },
    clearTimer(id) {
      timers.delete(id);
    },
    get pending() {
      return timers.size;
    },
    async advance(ms) {
      await settle(); // as a real timer, after pending promise callbacks
      const until = now + ms;
      for (;;) {
        const [id, timer] = [...timers].filter(([, t]) => t.at <= until).sort(([, a], [, b]) => a.at - b.at)[0] ?? [];
        if (id === undefined) break;
        timers.delete(id);
        now = timer.at;
        timer.fn();
        await settle();
      }
      now = until;
      await settle();
    },
  };
}

// Lets the streams' promise callbacks run.
const settle = () => new Promise((resolve) => setImmediate(resolve));

// The store's state: one version per watched key, and the core's answer to a watch of them.
function result(versions) {
  const entries = versions.map((version, index) => ({ key: [`k${index}`], value: version, version }));
  return { status: 200, body: JSON.stringify({ entries }) };
}

function newHub(options = {}) {
  const clock = fakeClock();
  const hub = new WatchHub({
    maxWatches: 4, lifetimeMs: 60_000, stallMs: 5_000, heartbeatMs: 1_000_000,
    setTimer: clock.setTimer, clearTimer: clock.clearTimer, ...options,
  });
  return { hub, clock };
}

function openWatch(hub, versions, credential = 'token') {
  const opened = hub.open({ credential, body: '{"keys":[]}', first: result(versions) });
  assert.ok(opened.stream, 'the watch opens');
  return opened.stream.getReader();
}

// Reads one event's raw text (each write is one chunk), and lets the hub
// see its write settle.
async function readText(reader) {
  const { done, value } = await reader.read();
  await settle();
  assert.equal(done, false, 'an event, not the end of the stream');
  return decoder.decode(value);
}

async function readData(reader) {
  const text = await readText(reader);
  assert.match(text, /^data: [^\n]*\n\n$/);
  return JSON.parse(text.slice('data: '.length));
}

// Asserts that nothing is readable now; returns `{ next }`, the pending read.
async function assertNothingToRead(reader) {
  const next = reader.read();
  const first = await Promise.race([next, settle().then(() => 'nothing')]);
  assert.equal(first, 'nothing', 'no event is sent');
  return { next };
}

async function assertEnded(reader) {
  assert.deepEqual(await reader.read(), { done: true, value: undefined });
}

describe('WatchHub', () => {
  it('sends every index first, nothing for no change, then only the changed indexes', async () => {
    const { hub } = newHub();
    const versions = ['v1', 'v1', 'v1'];
    const reader = openWatch(hub, versions);
    const first = await readData(reader);
    assert.deepEqual(first.changed, [0, 1, 2]);
    assert.deepEqual(first.entries.map((entry) => entry.version), ['v1', 'v1', 'v1']);

    let peeks = 0;
    hub.update(() => (peeks++, result(versions)));
    const { next } = await assertNothingToRead(reader);
    assert.equal(peeks, 1);

    versions[1] = 'v2';
    hub.update(() => result(versions));
    const { value } = await next;
    const event = JSON.parse(decoder.decode(value).slice('data: '.length));
    assert.deepEqual(event, { entries: JSON.parse(result(versions).body).entries, changed: [1] });
  });

  it('refuses one watch past maxWatches with 429 too_many_watches until one closes', async () => {
    const { hub } = newHub({ maxWatches: 2 });
    const first = openWatch(hub, ['v1']);
    openWatch(hub, ['v1']);
    const refused = hub.open({ credential: 'token', body: '{}', first: result(['v1']) });
    assert.equal(refused.stream, undefined);
    assert.equal(refused.refused.status, 429);
    const { error } = JSON.parse(refused.refused.body);
    assert.equal(error.code, 'too_many_watches');
    assert.match(error.message, /2 open watches per store/);
    assert.match(error.message, /every open watch of the store/);
    assert.match(error.message, /close a watch or wait/);
    assert.equal(hub.size, 2);

    await readData(first);
    await first.cancel(); // the client goes away, with no write in flight
    await settle();
    assert.equal(hub.size, 1);
    assert.ok(hub.open({ credential: 'token', body: '{}', first: result(['v1']) }).stream);
  });

  it('keeps one event in flight for a reader that does not read, then sends the newest state', async () => {
    const { hub } = newHub();
    const versions = ['a0', 'b0', 'c0'];
    const reader = openWatch(hub, versions); // its first event waits for the reader
    let peeks = 0;
    for (let n = 1; n <= 100; n++) {
      // Key 2 changes once, early; key 0 changes every time.
      versions[0] = `a${n}`;
      if (n === 3) versions[2] = 'c1';
      const state = [...versions];
      hub.update(() => (peeks++, result(state)));
    }
    await settle();
    assert.equal(peeks, 0, 'no peek while the first event is in flight');

    const first = await readData(reader);
    assert.deepEqual(first.changed, [0, 1, 2]);
    assert.deepEqual(first.entries.map((entry) => entry.version), ['a0', 'b0', 'c0']);
    const latest = await readData(reader);
    assert.equal(peeks, 1, 'only the latest peek, once');
    assert.deepEqual(latest.entries.map((entry) => entry.version), ['a100', 'b0', 'c1']);
    assert.deepEqual(latest.changed, [0, 2], 'changed against what was last sent');
    await assertNothingToRead(reader);
    assert.equal(hub.size, 1);
  });

  it('aborts a watch whose reader takes nothing for stallMs', async () => {
    const { hub, clock } = newHub({ stallMs: 1_000 });
    const stalled = openWatch(hub, ['v1'], 'stalled');
    const reading = openWatch(hub, ['v1'], 'reading');
    await readData(reading);
    await clock.advance(999);
    assert.equal(hub.size, 2);
    await clock.advance(1);
    assert.equal(hub.size, 1);
    await assert.rejects(stalled.read(), /read nothing for 1000 ms/);
    await clock.advance(10_000);
    assert.equal(hub.size, 1, 'a reader that took its event is not stalled');
    hub.endAll('{"error":{"code":"store_not_found","message":"gone"}}');
    await readText(reading);
    assert.equal(clock.pending, 0, 'no timer left behind');
  });

  it('aborts a stalled watch even after its end was queued', async () => {
    const { hub, clock } = newHub({ stallMs: 1_000 });
    const reader = openWatch(hub, ['v1']);
    hub.endAll('{"error":{"code":"store_not_found","message":"gone"}}');
    assert.equal(hub.size, 0);
    await clock.advance(1_000);
    await assert.rejects(reader.read(), /read nothing/);
    assert.equal(clock.pending, 0);
  });

  it('ends a watch after lifetimeMs with an end event', async () => {
    const { hub, clock } = newHub({ lifetimeMs: 60_000 });
    const reader = openWatch(hub, ['v1']);
    await readData(reader);
    await clock.advance(59_999);
    assert.equal(hub.size, 1);
    await clock.advance(1);
    assert.equal(hub.size, 0);
    assert.equal(await readText(reader), 'event: end\ndata: {"reason":"lifetime","lifetimeMs":60000}\n\n');
    await assertEnded(reader);
    assert.equal(clock.pending, 0);
  });

  it('ends only the watch whose peek throws, and update does not throw', async (t) => {
    const logged = t.mock.method(console, 'error', () => {});
    const { hub, clock } = newHub();
    const broken = openWatch(hub, ['v1'], 'broken');
    const healthy = openWatch(hub, ['v1'], 'healthy');
    await readData(broken);
    await readData(healthy);
    const failure = new Error('storage failed');
    assert.doesNotThrow(() => hub.update((watch) => {
      if (watch.credential === 'broken') throw failure;
      return result(['v2']);
    }));
    assert.equal(hub.size, 1);
    await assert.rejects(broken.read(), failure);
    assert.deepEqual((await readData(healthy)).changed, [0]);
    assert.equal(logged.mock.callCount(), 1);
    assert.equal(clock.pending, 2, 'only the healthy watch keeps its lifetime and heartbeat timers');
  });

  it('ends a watch whose peek fails with an error event', async () => {
    const { hub } = newHub();
    const reader = openWatch(hub, ['v1']);
    await readData(reader);
    const body = '{"error":{"code":"storage_error","message":"the storage failed"}}';
    hub.update(() => ({ status: 500, body }));
    assert.equal(hub.size, 0);
    assert.equal(await readText(reader), `event: error\ndata: ${body}\n\n`);
    await assertEnded(reader);
  });

  it('endWhere ends only the watches of matching credentials, with an error event', async () => {
    const { hub, clock } = newHub();
    const oldRead = openWatch(hub, ['v1'], 'old');
    const oldUnread = openWatch(hub, ['v1'], 'old'); // its first event is still in flight
    const current = openWatch(hub, ['v1'], 'new');
    await readData(oldRead);
    await readData(current);
    const body = '{"error":{"code":"invalid_token","message":"the token was rotated"}}';
    hub.endWhere((credential) => credential === 'old', body);
    assert.equal(hub.size, 1);

    assert.equal(await readText(oldRead), `event: error\ndata: ${body}\n\n`);
    await assertEnded(oldRead);
    assert.deepEqual((await readData(oldUnread)).changed, [0]);
    assert.equal(await readText(oldUnread), `event: error\ndata: ${body}\n\n`);
    await assertEnded(oldUnread);

    hub.update(() => result(['v2']));
    assert.deepEqual((await readData(current)).changed, [0]);
    assert.equal(clock.pending, 2); // the current watch's lifetime and heartbeat
  });
  it('sends an idle watch a keep-alive comment every heartbeat', async () => {
    const { hub, clock } = newHub({ heartbeatMs: 10_000 });
    const reader = openWatch(hub, ['v1']);
    await readData(reader);
    await clock.advance(10_000);
    assert.equal(await readText(reader), ': keep-alive\n\n');
    await clock.advance(10_000);
    assert.equal(await readText(reader), ': keep-alive\n\n');
    assert.equal(hub.size, 1, 'a watcher that reads stays');
  });

  it('drops a watcher that went away without a word within heartbeat and stall', async () => {
    // The runtime only notices a closed connection when it writes to it: a
    // watch of keys that never change would otherwise hold its slot.
    const { hub, clock } = newHub({ heartbeatMs: 10_000, stallMs: 5_000, maxWatches: 1 });
    const reader = openWatch(hub, ['v1']);
    await readData(reader); // then it reads nothing more, and nothing changes
    await clock.advance(10_000 + 5_000 - 1);
    assert.equal(hub.size, 1);
    await clock.advance(1);
    assert.equal(hub.size, 0, 'gone after heartbeatMs + stallMs');
    assert.ok(hub.open({ credential: 'token', body: '{}', first: result(['v1']) }).stream, 'its slot is free');
  });
});
