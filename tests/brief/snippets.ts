// Every snippet of the product brief (../shared/seed/key-value-store.md), as
// written there except where the brief is wrong; each correction is marked
// "Brief:" and explained in the README's "Notes on the product brief".
// `npm test` type-checks this file (tsc, strict) and runs it against workerd
// (tests/e2e/brief.test.js).

// Brief: `const {connect} = "https://esm.sh/gh/own3d/kv@main";` destructures
// a string. It is an import: from the package name (npm), or from the URL in
// runtimes that import URLs.
import { connect, type Kv, type KvKey } from '@own3d/kv';

let kv: Kv;

// "Opening the Key-Value Store". The endpoint comes from KV_ENDPOINT.
export function openStore(accessToken: string): Kv {
  kv = connect({
    accessToken,
    region: 'eu-central-1',
  });
  return kv;
}

// "Creating a User interface". Brief: saveUser() below reads `user.id`, so
// the interface needs it.
export interface User {
  id: string;
  name: string;
  email: string;
}

// "Creating, updating, and reading a key-value pair".
export async function createUser() {
  const key = ['users', '1'];
  const value: User = { id: '1', name: 'GhostZero', email: 'example@example.com' };
  await kv.set(key, value);
}

export async function readUser() {
  const key = ['users', '1'];
  const entry = await kv.get<User>(key);

  console.log(entry.key);
  console.log(entry.value);
  console.log(entry.version);
  return entry;
}

// "Deleting a key-value pair".
export async function deleteUser() {
  const key = ['users', '1'];
  return await kv.delete(key);
}

// "Atomic transactions". Brief: commit() returns a Promise; without `await`
// res.ok is not the result (the client throws a TypeError saying so).
export async function createUserIfAbsent() {
  const key = ['users', '1'];
  const value: User = { id: '1', name: 'GhostZero', email: 'example@example.com' };

  const res = await kv.atomic()
    .check({ key, version: null /* or a version */ })
    .set(key, value)
    .commit();

  if (res.ok) {
    console.log('Entry did not exist and was created');
  } else {
    console.log('Entry already exist. No changes were made');
  }
  return res;
}

// The brief's atomic snippet as written: TypeScript refuses it.
export function createUserIfAbsentWithoutAwait() {
  const key = ['users', '2'];
  const value: User = { id: '2', name: 'NoAwait', email: 'no-await@example.com' };
  const res = kv.atomic()
    .check({ key, version: null })
    .set(key, value)
    .commit();
  // @ts-expect-error: `res` is a Promise; reading `ok` needs `await`.
  return () => res.ok;
}

// "Improve querying with secondary indexes".
export async function saveUser(user: User) {
  const key = ['users', user.id];

  // set the primary key
  const r = await kv.set(key, user);

  // set the secondary key's value to be the primary key
  await kv.set(['users_by_email', user.email], key);

  return r;
}

export async function getById(id: string) {
  // use as usual
  return await kv.get<User>(['users', id]);
}

export async function getByEmail(email: string) {
  // lookup the primary key by the secondary key
  // Brief: `kv.get<array[]>` is not TypeScript; the index holds a key
  // (KvKey), and an email without an index entry has value null.
  const r1 = await kv.get<KvKey>(['users_by_email', email]);
  if (r1.value === null) return null;
  const r2 = await kv.get<User>(r1.value);
  return r2;
}
