// js/index.d.ts declares the client's options: tsc (strict) checks
// tests/client/types/options.ts, which uses each and expects errors where
// the declarations refuse an option.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('index.d.ts types every option of connect() and of each call', () => {
  let output = '';
  try {
    execFileSync(`${ROOT}node_modules/.bin/tsc`, ['-p', 'tests/client/types/tsconfig.json'], { cwd: ROOT, encoding: 'utf8' });
  } catch (error) {
    output = `${error.stdout}${error.stderr}`;
  }
  assert.equal(output, '', 'tsc found errors');
});
