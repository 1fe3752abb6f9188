// The deployable bundle builds (wrangler deploy --dry-run: no account, no
// network) and fits the Workers free plan's 3 MB gzip budget.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { OFFLINE_ENV, ROOT } from '../scripts/emulator.js';

const BUDGET_GZIP_BYTES = 3 * 1024 * 1024;

test('wrangler deploy --dry-run builds a bundle within the 3 MB gzip budget', (t) => {
  const outdir = mkdtempSync(join(tmpdir(), 'kv-bundle-'));
  try {
    execFileSync(`${ROOT}node_modules/.bin/wrangler`, ['deploy', '--dry-run', '--outdir', outdir], {
      cwd: ROOT,
      env: { ...process.env, ...OFFLINE_ENV },
      stdio: 'pipe',
    });
    const files = readdirSync(outdir).filter((name) => !name.endsWith('.map'));
    assert.ok(files.some((name) => name.endsWith('.wasm')), `the bundle holds the core: ${files}`);
    assert.ok(files.some((name) => name.endsWith('.js')), `the bundle holds the Worker: ${files}`);
    let raw = 0;
    let gzip = 0;
    for (const name of files) {
      const bytes = readFileSync(join(outdir, name));
      raw += bytes.length;
      gzip += gzipSync(bytes, { level: 9 }).length;
    }
    t.diagnostic(`bundle: ${files.join(', ')}; ${raw} bytes, ${gzip} bytes gzip (budget ${BUDGET_GZIP_BYTES})`);
    assert.ok(gzip < BUDGET_GZIP_BYTES);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});
