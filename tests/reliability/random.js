// A small seeded PRNG (mulberry32), so a failing run of a randomized test can
// be replayed: every test prints its seed, and KV_TEST_SEED sets it.

export function testSeed() {
  const fromEnv = Number(process.env.KV_TEST_SEED);
  return Number.isInteger(fromEnv) ? fromEnv : Math.floor(Math.random() * 2 ** 32);
}

/** Returns { int(n): 0..n-1, pick(array) } driven by `seed`. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    int: (n) => Math.floor(next() * n),
    pick: (array) => array[Math.floor(next() * array.length)],
  };
}
