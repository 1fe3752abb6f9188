// Fault injection for tests, after FoundationDB's BUGGIFY: named points in
// the store object where a test can make the next N uses fail for real (a
// trap inside the wasm core, a storage error during a purge, a throw after
// a commit), to prove what the system does on its bad days. Off unless the
// Worker runs with KV_FAULTS=on, which only the test emulator sets.

export const FAULTS = Object.freeze({
  trap: 'the next client request traps in the core (kv_trap_for_test) before it runs',
  purge_storage_error: 'every statement of the next purge batch fails',
  after_commit_error: 'the work after the next successful request throws',
});

export class Faults {
  #enabled;
  #armed = new Map(); // name -> uses left

  constructor(env) {
    this.#enabled = env.KV_FAULTS === 'on';
  }

  /** Arms fault `name` for its next `count` uses; throws unless fault injection is on. */
  arm(name, count) {
    if (!this.#enabled) throw new Error('fault injection is off (KV_FAULTS is not "on")');
    if (!Object.hasOwn(FAULTS, name)) throw new Error(`no fault "${name}"; the faults are ${Object.keys(FAULTS).join(', ')}`);
    if (!(Number.isInteger(count) && count >= 0)) throw new Error('count must be a whole number');
    this.#armed.set(name, count);
  }

  /** True, once per armed use, where fault `name` should happen now. */
  take(name) {
    const left = this.#armed.get(name) ?? 0;
    if (left === 0) return false;
    this.#armed.set(name, left - 1);
    return true;
  }
}
