// The few KV Connect bytes the bench sends and checks (the `kvc` cases of
// bench/cases.js), written by hand so that the bench shares no code with
// what it measures: keys in Deno KV's key encoding (docs/key-encoding.md;
// only string and number parts), and the protobuf messages of
// com.deno.kv.datapath that worker/kv_connect.cc lists at its top.

const encoder = new TextEncoder();

/** A key of strings and numbers in the key encoding, as bytes. */
export function encodeKey(parts) {
  const bytes = [];
  for (const part of parts) {
    if (typeof part === 'string') {
      bytes.push(0x02);
      for (const byte of encoder.encode(part)) bytes.push(...(byte === 0 ? [0x00, 0xff] : [byte]));
      bytes.push(0x00);
    } else if (typeof part === 'number') {
      const view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, Number.isNaN(part) ? NaN : part === 0 ? 0 : part); // one NaN, no -0
      const raw = new Uint8Array(view.buffer);
      const negative = raw[0] & 0x80;
      bytes.push(0x21, ...raw.map((byte, i) => (negative ? ~byte & 0xff : i === 0 ? byte ^ 0x80 : byte)));
    } else {
      throw new Error(`the bench encodes only string and number key parts, not ${typeof part}`);
    }
  }
  return Uint8Array.from(bytes);
}

// ---- Writing: varints and fields ------------------------------------------

function varint(value) {
  const out = [];
  for (let v = value; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      out.push(v);
      return out;
    }
    out.push((v % 128) | 0x80);
  }
}

/** A varint field (wire type 0). */
export function varintField(number, value) {
  return Uint8Array.from([...varint(number * 8), ...varint(value)]);
}

/** A length-delimited field (wire type 2): bytes or an embedded message, given as byte arrays to join. */
export function bytesField(number, ...contents) {
  const length = contents.reduce((sum, c) => sum + c.length, 0);
  return concat(Uint8Array.from([...varint(number * 8 + 2), ...varint(length)]), ...contents);
}

export function concat(...arrays) {
  return Buffer.concat(arrays.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.length))));
}

/** SnapshotRead{ranges: [ReadRange{start: key, end: key + 0x00, limit: 1}]}: a get of one key. */
export function snapshotReadOne(key) {
  const end = concat(key, Uint8Array.of(0));
  return bytesField(1, bytesField(1, key), bytesField(2, end), varintField(3, 1));
}

/** AtomicWrite{mutations: [Mutation{key, value: KvValue{data, encoding}, mutation_type: M_SET}]}. */
export function atomicSet(key, data, encoding = 1) {
  return bytesField(2, bytesField(1, key), bytesField(2, bytesField(1, data), varintField(2, encoding)), varintField(3, 1));
}

// ---- Reading: just enough to check an answer ------------------------------

/**
 * The fields of one message: [{ number, type, value }], value a number
 * (varint) or a Buffer (length-delimited). Throws on anything malformed or
 * of another wire type.
 */
export function readFields(bytes) {
  const fields = [];
  let at = 0;
  const readVarint = () => {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      if (at >= bytes.length || scale > 2 ** 63) throw new Error('a varint runs past the end');
      const byte = bytes[at++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const tag = readVarint();
    const number = Math.floor(tag / 8);
    const type = tag % 8;
    if (type === 0) {
      fields.push({ number, type, value: readVarint() });
    } else if (type === 2) {
      const length = readVarint();
      if (at + length > bytes.length) throw new Error('a field runs past the end');
      fields.push({ number, type, value: bytes.subarray(at, at + length) });
      at += length;
    } else {
      throw new Error(`wire type ${type} (field ${number}) is none the bench expects`);
    }
  }
  return fields;
}

/**
 * The entries of a SnapshotReadOutput, per range: [[{ key, value,
 * encoding }]]; and its status (SR_SUCCESS = 1; 0 when not sent).
 */
export function readSnapshotOutput(bytes) {
  const fields = readFields(bytes);
  const ranges = fields.filter((f) => f.number === 1 && f.type === 2).map((range) => readFields(range.value)
    .filter((f) => f.number === 1 && f.type === 2).map((entry) => {
      const parts = readFields(entry.value);
      const field = (n) => parts.find((f) => f.number === n)?.value;
      return { key: field(1), value: field(2), encoding: field(3) ?? 0 };
    }));
  return { ranges, status: fields.find((f) => f.number === 8)?.value ?? 0 };
}

/** The status of an AtomicWriteOutput (AW_SUCCESS = 1). */
export function readAtomicWriteStatus(bytes) {
  return readFields(bytes).find((f) => f.number === 1 && f.type === 0)?.value ?? 0;
}
