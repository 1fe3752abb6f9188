// import(): the lines of an export, committed in batches that each fill the
// store's commit limits without passing them, counted as the store counts.

import { describe, KvError } from './errors.js';
import { decodeBase64 } from './base64.js';
import {
  COUNTER_BYTES,
  MAX_COMMIT_BYTES,
  MAX_COMMIT_KEY_BYTES,
  MAX_KEY_BYTES,
  MAX_MUTATIONS,
  MAX_REQUEST_BYTES,
  MAX_U64,
  MAX_VALUE_BYTES,
  OPAQUE_VALUE_OVERHEAD,
} from './limits.js';
import { encodedKeyPartsLength, storedValueLength, utf8Length } from './sizes.js';
import { lines, parseJson } from './streams.js';
import { decodeKeyPart, KvU64, KvV8Value, setMutation } from './wire.js';

const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const IMPORT_BATCH_SIZE = 500;
const LOST_ANSWER_CODES = ['network_error', 'timeout', 'aborted', 'closed'];

/**
 * Imports the lines of `source` (Kv.import documents it), sending each batch
 * with `commit(mutations)`, which resolves once the batch committed.
 */
export async function importLines(source, { batchSize = IMPORT_BATCH_SIZE, onProgress } = {}, commit) {
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= MAX_MUTATIONS)) {
    throw new TypeError(`import() batchSize must be a whole number from 1 to ${MAX_MUTATIONS}, got ${describe(batchSize)}`);
  }
  const progress = { imported: 0, skipped: 0, batches: 0 };
  let linesCommitted = 0;
  let batch = new ImportBatch();
  const flush = async () => {
    if (batch.mutations.length === 0) return;
    const sent = batch;
    batch = new ImportBatch();
    try {
      await commit(sent.mutations);
    } catch (error) {
      throw importBatchFailure(error, sent, progress, linesCommitted);
    }
    progress.imported += sent.mutations.length;
    progress.batches++;
    linesCommitted = sent.lastLine;
    onProgress?.({ ...progress });
  };
  let lineNumber = 0;
  for await (const line of lines(source)) {
    lineNumber++;
    if (line.trim() === '') continue;
    let entry;
    try {
      entry = importEntry(line, lineNumber);
    } catch (error) {
      throw importLineFailure(error, lineNumber, progress, linesCommitted);
    }
    if (entry === null) {
      progress.skipped++;
      continue;
    }
    if (entry.alone) await flush();
    else if (!batch.fits(entry, batchSize)) await flush();
    batch.add(entry, lineNumber);
    if (entry.alone) await flush();
  }
  await flush();
  return progress;
}

function parseExportLine(line, lineNumber) {
  const where = `import line ${lineNumber}`;
  const wire = parseJson(line);
  if (typeof wire !== 'object' || wire === null || !Array.isArray(wire.key) || !('value' in wire)) {
    throw new TypeError(`${where} is not an exported entry {"key": [...], "value": ...}: ${line.slice(0, 100)}`);
  }
  let key;
  try {
    key = wire.key.map(decodeKeyPart);
  } catch {
    throw new TypeError(`${where} has a malformed key: ${JSON.stringify(wire.key).slice(0, 100)}`);
  }
  let value = wire.value;
  if (wire.valueType === 'u64') {
    if (!(typeof value === 'string' && /^(0|[1-9][0-9]*)$/.test(value) && BigInt(value) <= MAX_U64)) {
      throw new TypeError(`${where} has a malformed u64 value: ${JSON.stringify(value)?.slice(0, 100)}`);
    }
    value = new KvU64(BigInt(value));
  } else if (wire.valueType === 'bytes' || wire.valueType === 'v8') {
    if (!(typeof value === 'string' && BASE64_PATTERN.test(value))) {
      throw new TypeError(`${where} has a malformed ${wire.valueType} value (base64 expected): ${JSON.stringify(value)?.slice(0, 100)}`);
    }
    value = wire.valueType === 'bytes' ? decodeBase64(value) : new KvV8Value(decodeBase64(value));
  }
  const expireIn = wire.expiresAt === undefined ? undefined : Math.ceil(wire.expiresAt - Date.now());
  return { key, value, expireIn };
}

// An export line as the set mutation import() sends, with the bytes it adds
// to a commit as the store counts them (encoded key plus stored value) and to
// the request body; null when the entry has expired already.
function importEntry(line, lineNumber) {
  const { key, value, expireIn } = parseExportLine(line, lineNumber);
  if (expireIn !== undefined && expireIn <= 0) return null;
  const mutation = setMutation(key, value, expireIn === undefined ? undefined : { expireIn }, `import line ${lineNumber}`);
  const keyBytes = encodedKeyPartsLength(key);
  const valueBytes = storedBytes(mutation, value);
  return {
    mutation,
    keyBytes,
    commitBytes: keyBytes + valueBytes,
    requestBytes: utf8Length(JSON.stringify(mutation)),
    // Over a limit of its own: the store refuses it whatever else the batch holds.
    alone: keyBytes > MAX_KEY_BYTES || valueBytes - opaqueOverhead(mutation) > MAX_VALUE_BYTES,
  };
}

// The bytes the store keeps of a value (worker/stored_value.h): what
// kMaxValueBytes (the data of a bytes or V8 value) and kMaxCommitBytes count.
function opaqueOverhead(mutation) {
  return mutation.valueType === 'bytes' || mutation.valueType === 'v8' ? OPAQUE_VALUE_OVERHEAD : 0;
}

function storedBytes(mutation, value) {
  switch (mutation.valueType) {
    case 'u64':
      return COUNTER_BYTES;
    case 'bytes':
      return OPAQUE_VALUE_OVERHEAD + value.length;
    case 'v8':
      return OPAQUE_VALUE_OVERHEAD + value.bytes.length;
  }
  return storedValueLength(mutation.value);
}

// The bytes of an atomic request without checks or mutations: {"checks":[],"mutations":[]}.
const EMPTY_COMMIT_REQUEST_BYTES = 28;

/** The entries of one import() commit, and the bytes the store counts of them. */
class ImportBatch {
  mutations = [];
  keyBytes = 0;
  commitBytes = 0;
  requestBytes = EMPTY_COMMIT_REQUEST_BYTES;
  firstLine = 0;
  lastLine = 0;

  // Whether the store takes this batch with `entry` added: kMaxMutationsPerCommit
  // (or the smaller batchSize), kMaxCommitBytes, kMaxCommitKeyBytes and
  // kMaxRequestBytes.
  fits(entry, batchSize) {
    const count = this.mutations.length;
    if (count === 0) return true;
    return (
      count < batchSize &&
      this.commitBytes + entry.commitBytes <= MAX_COMMIT_BYTES &&
      this.keyBytes + entry.keyBytes <= MAX_COMMIT_KEY_BYTES &&
      this.requestBytes + 1 + entry.requestBytes <= MAX_REQUEST_BYTES // 1: the comma before it
    );
  }

  add(entry, lineNumber) {
    if (this.mutations.length === 0) this.firstLine = lineNumber;
    else this.requestBytes += 1;
    this.mutations.push(entry.mutation);
    this.keyBytes += entry.keyBytes;
    this.commitBytes += entry.commitBytes;
    this.requestBytes += entry.requestBytes;
    this.lastLine = lineNumber;
  }
}

// What import() has committed, for the message of its failure.
function landedSummary(progress, linesCommitted) {
  if (linesCommitted === 0) return 'No line has landed.';
  const entries = `${progress.imported} ${progress.imported === 1 ? 'entry' : 'entries'}`;
  const lines = linesCommitted === 1 ? 'Line 1 has' : `Lines 1 to ${linesCommitted} have`;
  return `${lines} landed (${entries}); to resume, import from line ${linesCommitted + 1}.`;
}

// The KvError import() rejects with when a batch fails: the store's code and
// status, and which lines landed.
function importBatchFailure(error, batch, progress, linesCommitted) {
  const lines = batch.firstLine === batch.lastLine ? `line ${batch.firstLine}` : `lines ${batch.firstLine} to ${batch.lastLine}`;
  const code = error?.code ?? 'network_error';
  // No answer arrived: the batch may have been applied. (Its retries, with
  // the same idempotency key, never applied it twice.)
  const lost = LOST_ANSWER_CODES.includes(code) || code.startsWith('http_');
  const what = lost
    ? `the batch of ${lines} failed without the store's answer, so it may have landed, whole: ${error?.message ?? error}`
    : `the store refused the batch of ${lines}, so none of it landed: ${error.message}`;
  const failure = new KvError(
    code,
    error?.status ?? null,
    `import stopped at line ${batch.firstLine}: ${what}. ${landedSummary(progress, linesCommitted)}`,
    { cause: error, attempts: error?.attempts, retryable: error?.retryable },
  );
  return Object.assign(failure, { ...progress, linesCommitted, failedLine: batch.firstLine });
}

// The error import() rejects with for a line it cannot import (a TypeError
// naming the line), with which lines landed.
function importLineFailure(error, lineNumber, progress, linesCommitted) {
  const fields = { ...progress, linesCommitted, failedLine: lineNumber };
  if (!(error instanceof TypeError)) return Object.assign(error, fields);
  const failure = new TypeError(`${error.message}. ${landedSummary(progress, linesCommitted)}`, { cause: error });
  return Object.assign(failure, fields);
}
