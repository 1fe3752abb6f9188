// Type-checked by tests/client/types.test.js (tsc, strict): the options of
// connect() and of each call as js/index.d.ts declares them, and what it
// refuses (each @ts-expect-error must be an error).
import { connect, KvError, KvU64, type ConnectOptions, type Kv } from '@own3d/kv';

const options: ConnectOptions = {
  accessToken: 'token',
  region: 'eu-central-1',
  endpoint: 'https://kv.example.com',
  timeoutMs: 5_000,
  retry: { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 2_000, maxRetryTimeMs: 20_000 },
  batchGets: false,
  fetch: (url, init) => fetch(url, init),
};
const kv: Kv = connect(options);
connect({ ...options, retry: false, timeoutMs: Infinity });
// @ts-expect-error: retry is false or an object
connect({ ...options, retry: true });
// @ts-expect-error: no such retry option
connect({ ...options, retry: { attempts: 3 } });

export async function calls(signal: AbortSignal) {
  await kv.get(['a'], { signal, consistency: 'eventual' });
  await kv.getMany([['a'], ['b']], { signal });
  await kv.set(['a'], 1, { expireIn: 1000, signal, idempotencyKey: 'order-1' });
  await kv.delete(['a'], { signal, idempotencyKey: 'order-1-delete' });
  const result = await kv.atomic().sum(['n'], new KvU64(1n)).commit({ signal, idempotencyKey: 'sum-1' });
  if (result.ok) result.versionstamp.toUpperCase();
  await kv.count({ prefix: [] }, { signal });
  await kv.usage({ signal });
  for await (const entry of kv.list({ prefix: [] }, { signal, limit: 10 })) entry.key;
  for await (const line of kv.export({ prefix: [] }, { signal })) line.length;
  await kv.import([], { signal, batchSize: 100 });
  kv.watch([['a']], { signal, raw: true });
  const enqueued = await kv.enqueue({ job: 1 }, { delay: 1000, keysIfUndelivered: [['failed', 1]], backoffSchedule: [0], signal, idempotencyKey: 'job-1' });
  enqueued.versionstamp.toUpperCase();
  await kv.atomic().enqueue(new Uint8Array([1]), { delay: 0 }).commit({ signal });
  await kv.listenQueue(async (message: { job: number }) => message.job, { signal, concurrency: 4, visibilityTimeout: 60_000 });
  await kv.listenQueue(() => {});
  // @ts-expect-error: an atomic enqueue takes no signal (the commit does)
  kv.atomic().enqueue(1, { signal });
  // @ts-expect-error: the delay is a number of milliseconds
  await kv.enqueue(1, { delay: '1s' });
  // @ts-expect-error: no such listenQueue option
  await kv.listenQueue(() => {}, { onError: () => {} });
  // @ts-expect-error: an atomic set takes no signal (the commit does)
  kv.atomic().set(['a'], 1, { signal });
  // @ts-expect-error: idempotencyKey is a string
  await kv.set(['a'], 1, { idempotencyKey: 42 });
}

export function describeError(error: unknown): string {
  if (!(error instanceof KvError)) return 'other';
  const attempts: number = error.attempts;
  const retryable: boolean = error.retryable;
  return `${error.code} ${error.status ?? 'no status'} after ${attempts} attempts${retryable ? ', retryable' : ''}`;
}
