// One store shared by the Deno CLI, @deno/kv in Node and this project's JSON
// client (tests/e2e/kv_connect.test.js, "interop"):
//
//   interop.ts <url> <keys JSON> <addend>
//
// 1. reads each key of <keys JSON> (what Node wrote) as a "read" line;
// 2. writes its own values under ["fromCli", name] ("wrote" lines) and sums
//    <addend> into ["interop", "counter"] ("summed");
// 3. prints "ready" and waits for one line on stdin, a JSON array of keys,
//    and reads those ("read-after" lines, what Node wrote back).

import { attempt, emit } from './lines.ts';

const kv = await Deno.openKv(Deno.args[0]);

async function read(check: string, keys: Deno.KvKey[]) {
  for (const key of keys) {
    await attempt(check, async () => {
      const entry = await kv.get(key);
      return {
        key: entry.key,
        value: entry.value,
        versionstamp: entry.versionstamp,
        type: Object.prototype.toString.call(entry.value),
        isKvU64: entry.value instanceof Deno.KvU64,
      };
    });
  }
}

await read('read', JSON.parse(Deno.args[1]));

const values: Record<string, unknown> = {
  json: { s: 'ü日本 🎉', n: [1, 2.5, -3], nested: { a: null, b: [true] } },
  date: new Date(Date.UTC(2001, 8, 9, 1, 46, 40)),
  mixed: { at: new Date(86400000), ids: new Set([1n, 2n]), names: new Map([['a', undefined]]) },
  bytes: new Uint8Array([9, 8, 7]),
};
for (const [name, value] of Object.entries(values)) {
  await attempt('wrote', async () => {
    const result = await kv.set(['fromCli', name], value);
    return { key: ['fromCli', name], value, versionstamp: result.versionstamp };
  });
}
const summed = await kv.atomic().sum(['interop', 'counter'], BigInt(Deno.args[2])).commit();
emit('summed', { ...summed });

emit('ready');
const decoder = new TextDecoder();
let input = '';
for await (const chunk of Deno.stdin.readable) {
  input += decoder.decode(chunk, { stream: true });
  if (input.includes('\n')) break;
}
await read('read-after', JSON.parse(input.slice(0, input.indexOf('\n'))));
kv.close();
emit('done');
