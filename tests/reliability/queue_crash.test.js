// `npm test` runs the crash test's queue scenario (tests/crash/durability.js
// queue): 1,000 messages through two SIGKILLs of workerd, each delivered at
// least once. It starts emulators of its own, about 15 s.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { ROOT } from '../../scripts/emulator.js';

test('queued messages survive SIGKILLs of workerd (crash test, queue scenario)', { timeout: 5 * 60_000 }, async () => {
  // Without NODE_TEST_CONTEXT, the child reports in TAP, not to this runner.
  const { NODE_TEST_CONTEXT, ...env } = process.env;
  const child = spawn(process.execPath, ['tests/crash/durability.js', 'queue'],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  const [code] = await once(child, 'exit');
  const summary = output.split('\n').filter((line) => line.startsWith('# queue:'));
  for (const line of summary) console.log(line);
  assert.equal(code, 0, `the crash test's queue scenario failed:\n${output}`);
  assert.equal(summary.length, 1, 'the scenario ran (not skipped)');
});
