// What the KV Connect Deno programs share: each check is printed as one JSON
// line, {"check": name, ...fields}, for tests/e2e/kv_connect.test.js to
// assert. Values JSON cannot hold are written as tagged objects, the same
// tags as the test's own replacer: {"$bigint": "1"}, {"$date": iso},
// {"$map": [[k, v], ...]}, {"$set": [...]}, {"$bytes": [...]},
// {"$typed": name, "values": [...]}, {"$undefined": true},
// {"$number": "NaN" | "Infinity" | "-Infinity" | "-0"}, {"$u64": "42"},
// {"$regexp": "/a/g"}.

// deno-lint-ignore no-explicit-any
export function replacer(this: any, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw === undefined) return { $undefined: true };
  if (typeof raw === 'bigint') return { $bigint: raw.toString() };
  if (typeof raw === 'number' && (!Number.isFinite(raw) || Object.is(raw, -0))) {
    return { $number: Object.is(raw, -0) ? '-0' : String(raw) };
  }
  if (raw instanceof Deno.KvU64) return { $u64: raw.value.toString() };
  if (raw instanceof Date) return { $date: Number.isNaN(raw.getTime()) ? 'Invalid Date' : raw.toISOString() };
  if (raw instanceof Map) return { $map: [...raw] };
  if (raw instanceof Set) return { $set: [...raw] };
  if (raw instanceof RegExp) return { $regexp: String(raw) };
  if (raw instanceof Uint8Array && raw.constructor === Uint8Array) return { $bytes: [...raw] };
  if (ArrayBuffer.isView(raw)) {
    return { $typed: raw.constructor.name, values: [...(raw as unknown as Iterable<unknown>)] };
  }
  return value;
}

export function emit(check: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ check, ...fields }, replacer));
}

/** Runs `body`, emitting {check, error} instead when it throws. */
export async function attempt(check: string, body: () => Promise<Record<string, unknown>>): Promise<void> {
  try {
    emit(check, await body());
  } catch (error) {
    emit(check, { error: `${(error as Error)?.name}: ${(error as Error)?.message ?? error}` });
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
