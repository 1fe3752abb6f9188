// Where the Worker's Durable Objects are: each store's object, placed in its
// region (shims/regions.js), and the one global directory object
// (shims/directory.js). All are KvStore objects (shims/store_object.js).

import { REGIONS } from './regions.js';
import { jsonBytes } from './http.js';

const DIRECTORY_NAME = 'directory';
const NOTHING = new Uint8Array(0);

/** The object of store `{ id, region }`. */
export function storeObject(env, { id, region }) {
  const { locationHint, jurisdiction } = REGIONS[region];
  // Local workerd has no jurisdictions; the emulator turns them off.
  const namespace = jurisdiction && env.KV_JURISDICTIONS !== 'off'
    ? env.KV_STORE.jurisdiction(jurisdiction)
    : env.KV_STORE;
  return namespace.get(namespace.idFromName(`store:${id}`), { locationHint });
}

export function directoryObject(env) {
  return env.KV_STORE.get(env.KV_STORE.idFromName(DIRECTORY_NAME));
}

/**
 * An operation of the Worker's own (no token: `request` is trusted) on
 * `object`: its raw answer `{ status, body }`.
 */
export function callOwn(object, operation, request) {
  return object.handle(operation, NOTHING, jsonBytes(request));
}

/** An operation of the Worker's own that must succeed; returns its JSON. */
export async function internal(object, operation, request) {
  const result = await callOwn(object, operation, request);
  if (result.status !== 200) {
    throw new Error(`internal ${operation} failed with ${result.status}: ${result.body}`);
  }
  return JSON.parse(result.body);
}
