// Small numeric helpers shared by the benchmarks.

/** The q-quantile (0..1) of `sorted` (ascending), nearest rank. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

export function median(values) {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

/**
 * Times `run(n)` (which does n operations) in batches of at least
 * `minBatchMs`, and returns the median over `batches` of the per-operation
 * CPU time and wall time in nanoseconds. CPU time (process.cpuUsage) is the
 * figure to compare, because other work on a shared machine inflates wall
 * time; this process runs the operations on one thread.
 */
export function timeOperation(run, { minBatchMs = 100, batches = 5, warmupMs = 200 } = {}) {
  // Warm up first: V8 compiles wasm with a baseline compiler and optimizes
  // hot functions later, and JS likewise.
  for (const start = performance.now(); performance.now() - start < warmupMs;) run(16);
  let n = 1;
  for (;;) {
    const start = performance.now();
    run(n);
    const elapsed = performance.now() - start;
    if (elapsed >= minBatchMs / 4 || n >= 2 ** 30) {
      n = Math.max(1, Math.ceil((n * minBatchMs) / Math.max(elapsed, 0.001)));
      break;
    }
    n *= 4;
  }
  const cpu = [];
  const wall = [];
  for (let b = 0; b < batches; b++) {
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    run(n);
    const wallMs = performance.now() - wallStart;
    const used = process.cpuUsage(cpuStart);
    cpu.push(((used.user + used.system) * 1e3) / n);
    wall.push((wallMs * 1e6) / n);
  }
  return { cpuNs: median(cpu), wallNs: median(wall), iterations: n * batches };
}
