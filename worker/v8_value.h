// V8 ValueSerializer bytes and JSON text, both ways, for the values Deno KV
// clients send and read (KV Connect's VE_V8 encoding; the format is
// docs/design/kv-connect.md section 13, after V8's value-serializer.cc).
//
// The store holds JSON. A value Deno writes is stored as JSON when it has a
// JSON form, so JSON clients read it too; otherwise its bytes are kept as
// they are. V8ToJson tells the two apart and gives the JSON text; JsonToV8
// writes a stored JSON value back in V8's format, the bytes V8 itself writes
// for the value JSON.parse makes of the text.
//
// The bytes read (tags are single bytes; varint is unsigned LEB128, at most
// 5 bytes, except ArrayBuffers' and views' sizes in version 16, which are
// 64-bit; zigzag as V8's; double is 8 bytes little-endian):
//
//   serialized := 0xFF version value 0x00*       version: varint 13..16
//   value      := 0x00* ('?' varint 0x00*)* item  (padding and V8's
//                                                  object-count hints skip)
//   item       := json-item | other-item
//
// The JSON subset, and the JSON each item gives:
//
//   json-item := '0' | 'T' | 'F'                  null, true, false
//              | 'I' zigzag | 'U' varint          the integer
//              | 'N' double                       finite: JavaScript's text
//                                                 (String(x)); -0 is "-0"
//              | '"' n latin1{n}                  a string, escaped as
//              | 'c' n utf16le{n}                 JSON.stringify does; 'c'
//              | 'S' n utf8{n}                    with no lone surrogate, 'S'
//                                                 valid UTF-8
//              | 'o' (key value)* '{' count       an object: keys distinct,
//                                                 in JavaScript's order
//                                                 (array indices ascending,
//                                                 then the rest as read)
//              | 'A' n value{n} '$' 0 n           an array with no holes and
//                                                 no other properties
//              | 'a' n (key value)* '@' n n       an array whose keys are
//                                                 exactly 0 .. n-1 in order
//                                                 (V8 writes every holey
//                                                 array so)
//   key       := 'I' zigzag | 'U' varint | 'N' double | string item
//                (numbers become their decimal text: the key "1")
//
// Every other item is valid but has no JSON form: '_' undefined, 'N' NaN or
// an infinity, 'Z' bigint, 'D' Date, 'R' RegExp, ';' Map, '\'' Set, 'B'/'~'
// ArrayBuffer and 'V' views, '\\' host objects (Node's typed arrays: varint
// type, varint n, n bytes), wrapper objects 'y' 'x' 'n' 'z' 's', 'r' errors,
// '^' references to an earlier object, arrays with holes or other
// properties, and anything holding one of them. Tags that need the sender's
// isolate ('t' 'u' 'p' 'w' 'm': transferred or shared objects) cannot be
// stored and are refused, as are unknown tags.
//
// The reader checks what V8's reader checks for structure (counts and
// lengths that must match, views inside their buffer, references to objects
// already read), but not what needs a JavaScript engine (a RegExp's source).
// It never reads out of bounds, recurses at most kMaxJsonDepth levels of
// arrays, objects, maps, sets and errors, and allocates no more than a
// small multiple of the input: a declared length past the input's end is an
// error before anything is allocated for it.

#ifndef KV_WORKER_V8_VALUE_H_
#define KV_WORKER_V8_VALUE_H_

#include <string>
#include <string_view>

#include "status.h"

namespace kv {

// Parses `bytes` as one V8-serialized value: the header 0xFF and a version
// from 13 to 16, then one value, then nothing but 0x00 padding. On success,
// *is_json says whether the value is in the JSON subset above; if it is,
// *json is its compact UTF-8 JSON text, else *json is empty and the caller
// keeps the bytes as they are. When the bytes do not parse, returns
// kInvalidRequest (truncated, an unknown tag, a length past the end, a bad
// header, trailing bytes, counts that do not match) or kNestingTooDeep
// (nesting past kMaxJsonDepth), with the byte offset in the message, and
// leaves *json empty and *is_json false.
Status V8ToJson(std::string_view bytes, std::string* json, bool* is_json);

// Appends to *bytes the V8 serialization (header FF 0F) of `json`, one JSON
// text (compact, as the store holds it, though whitespace is allowed).
// Writes what V8 writes for the value JSON.parse makes of the text: int32
// numbers other than -0 as 'I' (V8's Smis), others as 'N', except that an
// array holding only numbers, one of them not an int32, has all of them as
// 'N' (V8's double arrays); strings as '"' Latin-1 when every UTF-16 code
// unit is at most 0xFF, else as 'c' UTF-16LE, after a 0x00 when that puts
// the code units at an even offset from the header; objects as 'o' ... '{'
// n with array-index keys first, ascending, as 'I' (or 'N' past int32), and
// a repeated key in its first place with its last value; arrays as 'A' n
// ... '$' 0 n. Returns kInvalidJson, or kNestingTooDeep past kMaxJsonDepth,
// for text that is not one JSON value (or names a number past binary64's
// range), leaving *bytes as it was.
Status JsonToV8(std::string_view json, std::string* bytes);

}  // namespace kv

#endif  // KV_WORKER_V8_VALUE_H_
