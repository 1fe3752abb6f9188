// kv.watch() through the Deno CLI: `watch.ts <url> <count>` watches
// ["watched"] and ["counter"] and prints each of the first <count> values
// the stream yields as a {"check": "watch"} line; the test writes from Node
// after each line. Then it closes the database and exits.

import { emit } from './lines.ts';

const kv = await Deno.openKv(Deno.args[0]);
const count = Number(Deno.args[1] ?? 2);
const started = Date.now();
let seen = 0;
for await (const entries of kv.watch([['watched'], ['counter']])) {
  emit('watch', {
    index: seen,
    ms: Date.now() - started,
    entries: entries.map((entry) => ({
      key: entry.key,
      value: entry.value,
      versionstamp: entry.versionstamp,
      isKvU64: entry.value instanceof Deno.KvU64,
    })),
  });
  if (++seen === count) break;
}
kv.close();
emit('done');
