// The token directory: one global Durable Object whose entries are
//   ["token", tokenHashHex] -> { id, region }            (which store a token opens)
//   ["store", id] -> { region, credential, generation, createdAt }
// where `credential` is the hex of the store's current token hash. Only the
// admin routes write it; every store request reads it through the auth gate
// (shims/auth.js), which caches it. The store's own object is the authority
// on its token (it re-checks the hash on every request), so the directory
// is brought up to date after the object decided, and an update that loses
// a race with another admin call on the same store tries again.

import { callOwn, directoryObject, internal } from './objects.js';

// Tries of a directory update that lost a race with another admin call on
// the same store; each try re-reads the record.
const DIRECTORY_ATTEMPTS = 32;

/** The `{ id, region }` of the store whose token hash is `tokenHashHex`, or null. */
export async function lookupToken(env, tokenHashHex) {
  const { entries } = await internal(directoryObject(env), 'get', { keys: [['token', tokenHashHex]] });
  return entries[0].value;
}

/** Store `id`'s record, or null. */
export async function storeRecord(env, id) {
  return (await storeRecordEntry(env, id))?.value ?? null;
}

/** The directory entry `{ value, version }` of store `id`, or null. */
async function storeRecordEntry(env, id) {
  const { entries } = await internal(directoryObject(env), 'get', { keys: [['store', id]] });
  return entries[0].value === null ? null : entries[0];
}

/** Records a new store `{ id, region }` opened by the token hash `tokenHashHex`. */
export async function recordNewStore(env, { id, region }, tokenHashHex) {
  await internal(directoryObject(env), 'atomic', {
    mutations: [
      { type: 'set', key: ['token', tokenHashHex], value: { id, region } },
      { type: 'set', key: ['store', id], value: { region, credential: tokenHashHex, generation: 1, createdAt: new Date().toISOString() } },
    ],
  });
}

/**
 * A page of store records: `{ records: [{ id, record }], cursor }`, or
 * `{ refused }`, the directory's answer to a bad cursor.
 */
export async function listStoreRecords(env, { limit, cursor }) {
  const listed = await callOwn(directoryObject(env), 'list', { prefix: ['store'], limit, cursor });
  if (listed.status !== 200) return { refused: listed };
  const { entries, cursor: next } = JSON.parse(listed.body);
  return { records: entries.map(({ key: [, id], value }) => ({ id, record: value })), cursor: next };
}

/**
 * Brings store `id`'s record up to the rotation that replaced `previous`
 * with `current` (token hash hexes) as `generation`, and drops the token
 * entries it made stale. Returns those stale token hashes (for the auth
 * gate to forget), or null when the record is gone (the store was deleted).
 * Safe under any order of racing rotations: the highest generation wins.
 */
export async function recordRotation(env, id, { previous, current, generation }) {
  for (let attempt = 0; attempt < DIRECTORY_ATTEMPTS; attempt++) {
    const found = await storeRecordEntry(env, id);
    if (!found) return null;
    const { value: record, version } = found;
    if (record.credential === current) return [];
    const superseded = record.generation >= generation; // a later rotation is recorded already
    // The token ours replaced goes, and so does ours if superseded, or else the one recorded now.
    const stale = new Set([previous, superseded ? current : record.credential]);
    const mutations = [...stale].map((hash) => ({ type: 'delete', key: ['token', hash] }));
    if (!superseded) {
      mutations.push(
        { type: 'set', key: ['token', current], value: { id, region: record.region } },
        { type: 'set', key: ['store', id], value: { ...record, credential: current, generation } },
      );
    }
    const moved = await internal(directoryObject(env), 'atomic', { checks: [{ key: ['store', id], version }], mutations });
    if (moved.ok) return [...stale];
  }
  throw lostRaces(`recording the rotation of store ${id}`);
}

/**
 * Forgets store `id` and its token. Returns the token hash it held (for the
 * auth gate to forget), or null when a racing delete removed it first.
 */
export async function removeStore(env, id) {
  for (let attempt = 0; attempt < DIRECTORY_ATTEMPTS; attempt++) {
    const found = await storeRecordEntry(env, id);
    if (!found) return null;
    const { value: { credential }, version } = found;
    const removed = await internal(directoryObject(env), 'atomic', {
      checks: [{ key: ['store', id], version }],
      mutations: [{ type: 'delete', key: ['token', credential] }, { type: 'delete', key: ['store', id] }],
    });
    if (removed.ok) return credential;
  }
  throw lostRaces(`removing store ${id} from the directory`);
}

// The directory kept changing under an admin call: a retry of the whole call
// is safe (rotations and deletes are), so the client is told 503, not 500.
function lostRaces(what) {
  return Object.assign(new Error(`${what} lost ${DIRECTORY_ATTEMPTS} races in a row`), { retryable: true });
}
