// Writes tests/vectors/v8-values.json: golden vectors of V8's
// ValueSerializer format (docs/design/kv-connect.md section 13), as bytes
// that Node's real V8 wrote (node:v8), for worker/v8_value_test.cc.
//
//   node scripts/gen_v8_vectors.js
//
// Each vector has:
//   name       what it is
//   hex        the bytes V8 wrote (v8.serialize, Node's DefaultSerializer,
//              unless `writer` says v8.Serializer: V8's own format for typed
//              arrays, which Deno writes, where Node writes host objects)
//   json       the value's compact JSON text, JSON.stringify's except that
//              -0 is written "-0"; null when the value has no JSON form
//              (V8ToJson must say is_json = false)
//   source     (some) the JSON text JSON.parse read to make the value: key
//              order, duplicate keys and number spellings as a client may
//              send them; JsonToV8(source) must give `hex` too
//   canonical  true when JsonToV8(json) must reproduce `hex` exactly: V8
//              wrote the value the way JSON.parse makes it
// `numbers` pairs the bytes of numbers with String(x), the text V8ToJson
// must give for them.

import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';

const OUT = new URL('../tests/vectors/v8-values.json', import.meta.url);

const hex = (buffer) => Buffer.from(buffer).toString('hex');

// JSON.stringify, but -0 is written "-0" (V8ToJson keeps the sign).
function stringify(value) {
  const marker = '\u0000negative zero\u0000';
  return JSON.stringify(value, (_, v) => (Object.is(v, -0) ? marker : v))
    .replaceAll(JSON.stringify(marker), '-0');
}

// Values with a JSON form, made by JSON.parse from their text: the way a
// JSON client's values reach V8, so JsonToV8 must reproduce V8's bytes.
const JSON_TEXTS = [
  ['null', 'null'],
  ['true', 'true'],
  ['false', 'false'],
  ['zero', '0'],
  ['one', '1'],
  ['minus one', '-1'],
  ['63 (one-byte zigzag varint)', '63'],
  ['64 (two-byte zigzag varint)', '64'],
  ['-64', '-64'],
  ['-65', '-65'],
  ['300', '300'],
  ['int32 max', '2147483647'],
  ['int32 min', '-2147483648'],
  ['2^31 (a double)', '2147483648'],
  ['-2^31 - 1 (a double)', '-2147483649'],
  ['uint32 max', '4294967295'],
  ['1.5', '1.5'],
  ['0.1', '0.1'],
  ['0.1 + 0.2', '0.30000000000000004'],
  ['negative zero', '-0'],
  ['negative zero written -0.0', '-0.0'],
  ['integral double written 1.0 (a Smi)', '1.0'],
  ['integral double written 1e2 (a Smi)', '1e2'],
  ['1e21', '1e21'],
  ['1e-7', '1e-7'],
  ['1.23e-18', '123e-20'],
  ['smallest subnormal', '5e-324'],
  ['largest double', '1.7976931348623157e308'],
  ['2^53', '9007199254740992'],
  ['min safe integer', '-9007199254740991'],
  ['1e23', '1e23'],
  ['-1.5e-10', '-1.5e-10'],
  ['empty string', '""'],
  ['ascii string', '"hi"'],
  ['latin-1 string', '"caf\u00e9 \u00ff"'],
  ['escapes', '"q\\"b\\\\s/n\\nt\\tr\\rb\\bf\\f"'],
  ['control characters', '"\\u0000\\u0001\\u001f\\u007f"'],
  ['euro sign (two-byte)', '"\u20ac"'],
  ['two-byte with latin-1 and ascii', '"x\u00e9\u20ac"'],
  ['surrogate pair', '"\ud83d\ude00"'],
  ['line separator', '"a\u2028b\u2029c"'],
  ['long ascii string (two-byte varint length)', JSON.stringify('abcdefghij'.repeat(30))],
  ['long two-byte string', JSON.stringify('\u20ac\u00e9x'.repeat(50))],
  ['empty object', '{}'],
  ['empty array', '[]'],
  ['object', '{"a":1}'],
  ['object of several types', '{"s":"x","n":1.5,"i":-7,"t":true,"f":false,"z":null}'],
  ['array', '[1,2]'],
  ['mixed array', '[1,"a",1.5,null,true]'],
  ['array of numbers with a double (PACKED_DOUBLE: all N)', '[1,1.5]'],
  ['array of integral doubles (Smis)', '[1.0,2.0]'],
  ['array with -0 (PACKED_DOUBLE)', '[-0,1]'],
  ['array with 2^31 (PACKED_DOUBLE)', '[2147483648,1]'],
  ['nested array keeps its own kind', '[[1.5],1]'],
  ['array of a double and null', '[1.5,null]'],
  ['integer keys come first, as numbers', '{"b":2,"1":"a","0":3}'],
  ['integer keys beyond Smi: 2^31 as N, 2^32-1 is a string key', '{"4294967295":1,"4294967294":2,"2147483648":3,"2147483647":4}'],
  ['keys that are not array indices stay strings', '{"01":1,"-1":2,"1.5":3,"1e3":4," 1":5}'],
  ['duplicate keys: first place, last value', '{"b":1,"1":2,"a":3,"0":4,"b":5}'],
  ['non-ascii keys', '{"\u00e9":1,"\u20ac":2,"\ud83d\ude00":3}'],
  ['two-byte string with padding before it', '["abc","\u20ac"]'],
  ['two-byte strings at both parities', '["\u20ac","a\u20ac",["\u20ac"],{"k":"\u20ac","\u20ac":"\u20ac"}]'],
  ['nested', '{"a":[{"b":"\u00e9\u20ac"}],"c":{"d":{"e":[[],{}]}}}'],
  ['nested arrays 20 deep', `${'['.repeat(20)}1${']'.repeat(20)}`],
  ['nested objects 20 deep', `${'{"a":'.repeat(20)}1${'}'.repeat(20)}`],
  ['number spellings', '[1E2,1.0,-0.0,0e0,12.50,1e+1]'],
  ['spaces in the source', ' { "a" : [ 1 , 2 ] , "b" : "c" } '],
  ['array of 200 integers', JSON.stringify(Array.from({ length: 200 }, (_, i) => i * 1000 - 7))],
];

const vectors = [];
for (const [name, source] of JSON_TEXTS) {
  const value = JSON.parse(source);
  const json = stringify(value);
  vectors.push({
    name,
    ...(source !== json ? { source } : {}),
    hex: hex(v8.serialize(value)),
    json,
    canonical: true,
  });
}

// Values with a JSON form that V8 writes otherwise than JSON.parse's would
// be: V8ToJson reads them as JSON, JsonToV8 writes other (equal) bytes.
const holey = new Array(3);
holey[0] = 1;
holey[1] = 'b';
holey[2] = null;
const holeyDoubles = new Array(2);
holeyDoubles[0] = 1.5;
holeyDoubles[1] = 2;
for (const [name, value] of [
  ['holey array with every index set (written sparse)', holey],
  ['holey double array with every index set (written sparse)', holeyDoubles],
  ['one-byte string made by slicing a two-byte one', '\u20ac\u00e9'.slice(1)],
]) {
  vectors.push({ name, hex: hex(v8.serialize(value)), json: stringify(value), canonical: false });
}

// Values with no JSON form: valid, V8ToJson says is_json = false.
const shared = { x: 1 };
const cyclic = { a: 1 };
cyclic.self = cyclic;
const error = new Error('boom');
error.stack = 'Error: boom\n    at <anonymous>';
const typeError = new TypeError('bad', { cause: 1 });
typeError.stack = 'TypeError: bad';
const withExtra = [1, 2];
withExtra.x = 1;
const buffer = new ArrayBuffer(4);
new Uint8Array(buffer).set([1, 2, 3, 4]);
const NOT_JSON = [
  ['undefined', undefined],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['bigint 0n', 0n],
  ['bigint 123n', 123n],
  ['bigint -1n', -1n],
  ['bigint 2^64', 2n ** 64n],
  ['Date', new Date(0)],
  ['Date now-ish', new Date(1700000000123)],
  ['Map', new Map([[1, 'a'], ['b', { c: 2 }]])],
  ['Set', new Set([1, 'a', null])],
  ['RegExp', /a+b/gi],
  ['lone high surrogate', '\ud800'],
  ['lone low surrogate inside', 'a\udc00b'],
  ['sparse array', [1, , 3]],
  ['empty sparse array of length 5', new Array(5)],
  ['sparse array from a hole at the end', [, 5]],
  ['array holding undefined', [undefined]],
  ['object holding undefined', { a: undefined }],
  ['object holding NaN', { a: NaN }],
  ['array with an extra property', withExtra],
  ['the same object twice (a reference)', [shared, shared]],
  ['cyclic object', cyclic],
  ['Error', error],
  ['TypeError with a cause', typeError],
  ['Number object', new Number(1.5)],
  ['String object', new String('x')],
  ['Boolean objects', [new Boolean(true), new Boolean(false)]],
  ['BigInt object', Object(5n)],
  ['ArrayBuffer', buffer],
  ['resizable ArrayBuffer', new ArrayBuffer(2, { maxByteLength: 8 })],
  ['Uint8Array (Node host object)', new Uint8Array([1, 2, 3])],
  ['Buffer (Node host object)', Buffer.from('hi')],
  ['Float64Array (Node host object)', new Float64Array([1.5])],
  ['DataView (Node host object)', new DataView(buffer, 1, 2)],
  ['nested Date in an object', { when: new Date(0), n: 1 }],
  ['Map nested in an array', [1, new Map()]],
  ['string lone surrogate as a key', { '\udfff': 1 }],
];
for (const [name, value] of NOT_JSON) {
  vectors.push({ name, hex: hex(v8.serialize(value)), json: null });
}

// Typed arrays in V8's own format (v8.Serializer without Node's host-object
// treatment): an ArrayBuffer, then 'V' and the view. Deno writes these.
function serializePlain(value) {
  const serializer = new v8.Serializer();
  serializer.writeHeader();
  serializer.writeValue(value);
  return serializer.releaseBuffer();
}
const twoViews = new ArrayBuffer(8);
for (const [name, value] of [
  ['Uint8Array (V8 format)', new Uint8Array([1, 2])],
  ['typed arrays and a DataView (V8 format)', [new Uint8Array([1, 2]), new DataView(new ArrayBuffer(4), 1, 2), new Float64Array(1)]],
  ['two views of one buffer (a reference to it)', [new Uint8Array(twoViews, 0, 4), new Uint16Array(twoViews, 4, 2)]],
  ['view of a resizable buffer (V8 format)', new Uint8Array(new ArrayBuffer(4, { maxByteLength: 8 }))],
  ['length-tracking view of a resizable buffer (V8 format)', new Int16Array(new ArrayBuffer(4, { maxByteLength: 8 }))],
]) {
  vectors.push({ name, writer: 'v8.Serializer', hex: hex(serializePlain(value)), json: null });
}

// Numbers and the text JavaScript gives them: edge cases and pseudo-random
// doubles (a fixed xorshift seed, so the file is the same every run).
const numbers = [
  0, 1, -1, 0.1, 0.5, 1.5, 100, 1e20, 1e21, 1.5e21, 123456789012345680000,
  1e-6, 1e-7, 1.5e-7, 0.000001234, 5e-324, 2.2250738585072014e-308,
  1.7976931348623157e308, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 2 ** 31, 2 ** 32,
  2 ** 64, 1 / 3, 2 / 3, 123.456, -987.654321, 4.35, 0.3, 1e300, 1e-300,
];
let state = 0x9e3779b97f4a7c15n;
const next = () => {
  state ^= (state << 13n) & 0xffffffffffffffffn;
  state ^= state >> 7n;
  state ^= (state << 17n) & 0xffffffffffffffffn;
  return state;
};
const view = new DataView(new ArrayBuffer(8));
while (numbers.length < 400) {
  const bits = next();
  if (numbers.length % 2) {
    view.setBigUint64(0, bits);
    const x = view.getFloat64(0);
    if (Number.isFinite(x)) numbers.push(x);
  } else {
    // Short decimals, as people write them.
    const digits = Number(bits % 100000n);
    const exponent = Number((bits >> 20n) % 40n) - 20;
    numbers.push(Number(`${digits}e${exponent}`) * (bits & 1n ? -1 : 1));
  }
}

const file = {
  about:
    'Golden vectors of V8 ValueSerializer bytes written by Node\'s V8 (docs/design/kv-connect.md section 13), ' +
    'made by scripts/gen_v8_vectors.js; read by worker/v8_value_test.cc. See the script for the fields.',
  node: process.version,
  v8: process.versions.v8,
  vectors,
  numbers: numbers
    .filter((x) => !Object.is(x, -0))
    // As JSON.parse makes them: a Smi when it can be (x * -1 above may
    // have made a heap number of an integer).
    .map((x) => ({ hex: hex(v8.serialize(JSON.parse(String(x)))), text: String(x) })),
};
writeFileSync(OUT, `${JSON.stringify(file, null, 1)}\n`);
console.log(`wrote ${vectors.length} vectors and ${file.numbers.length} numbers to ${OUT.pathname}`);
