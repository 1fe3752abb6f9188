// Requests whose outcome the client cannot know, made exact.
//
// A commit whose answer is lost may or may not have been applied. That is
// true of any network, and the local emulator makes it happen under load:
// wrangler's dev proxy sometimes loses its connection to the Worker
// ("Network connection lost" inside workerd) and answers 503 "Your worker
// restarted mid-request" as text instead of the store's JSON (the store's
// own 503, `unavailable`, means nothing was done). The tests never guess such an outcome: reads are retried (they
// change nothing), and a commit is resolved by reading a marker it wrote
// after fencing it off, so that it can no longer apply later.

import { KvError } from '@own3d/kv';

const MAX_ATTEMPTS = 20;

/** Counts of requests that ended without the store's answer, for the logs. */
export const unknownOutcomes = { reads: 0, commits: 0 };

/** True when the request may or may not have reached the store. */
export function isUnknownOutcome(error) {
  return error instanceof KvError && (error.code === 'network_error' || error.code === 'http_503');
}

/**
 * Runs a request that may safely run twice (a read, or a write whose
 * repetition changes nothing the test checks) until the store answers it.
 */
export async function idempotent(request) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (!isUnknownOutcome(error) || attempt >= MAX_ATTEMPTS) throw error;
      unknownOutcomes.reads++;
    }
  }
}

/**
 * Sends `commit()`, an atomic commit that checks `fence.key` at
 * `fence.version` and sets `marker.key` to `marker.id` (unique to this
 * attempt). Returns its result; when the answer is lost, returns what
 * actually happened: { ok: true, version } if the commit applied, else
 * { ok: false }.
 */
export async function commitExactly(kv, commit, { fence, marker }) {
  try {
    return await commit();
  } catch (error) {
    if (!isUnknownOutcome(error)) throw error;
    unknownOutcomes.commits++;
  }
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const [current, written] = await idempotent(() => kv.getMany([fence.key, marker.key]));
    if (written.value === marker.id) return { ok: true, version: written.version };
    // Once the fenced key has moved on, the lost commit's check can never
    // hold again, so its marker's absence is final.
    if (current.version !== fence.version) return { ok: false };
    // Still unchanged: move it on ourselves, rewriting the same value.
    try {
      await kv.atomic().check({ key: fence.key, version: fence.version }).set(fence.key, current.value).commit();
    } catch (error) {
      if (!isUnknownOutcome(error)) throw error;
    }
  }
  throw new Error(`could not resolve the outcome of a commit fenced on ${JSON.stringify(fence.key)}`);
}
