/**
 * `npm test`: typecheck, unit tests, then the integration tests against the real stack, which
 * this script brings up (and down again if it was not already running), then a short chaos run
 * (3,000 leads, every fault kind: scripts/chaos.ts --short).
 */
import { spawnSync } from 'node:child_process';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  process.stdout.write(`\n$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  return r.status ?? 1;
}

const stackWasUp = spawnSync('npx', ['tsx', 'scripts/stack.ts', 'status', '--quiet'], { encoding: 'utf8' }).status === 0;
let failed = 0;
if (run('npx', ['tsc', '-p', 'tsconfig.scripts.json', '--noEmit']) !== 0) failed++;
if (run('npm', ['run', 'build', '--silent']) !== 0) failed++;
if (run('npm', ['run', 'test:unit', '--silent']) !== 0) failed++;

if (process.env.SKIP_INTEGRATION === '1') {
  process.stdout.write('\nSKIP_INTEGRATION=1: integration tests not run\n');
} else {
  if (run('npx', ['tsx', 'scripts/stack.ts', 'up']) !== 0) {
    failed++;
    process.stderr.write('npm test: the stack did not come up; integration tests not run\n');
  } else {
    if (run('npm', ['run', 'test:integration', '--silent']) !== 0) failed++;
    // Not a test: the broker restarted by the chaos run must not recover the tests' leftovers first.
    if (run('npx', ['tsx', 'scripts/drop-test-topics.ts']) !== 0) process.stdout.write('could not delete the integration tests\' topics; the chaos run goes on\n');
    // Last, on the same stack: the short chaos run kills and restarts the broker.
    if (process.env.SKIP_CHAOS === '1') process.stdout.write('\nSKIP_CHAOS=1: the chaos run was not run\n');
    else if (run('npx', ['tsx', 'scripts/chaos.ts', '--short']) !== 0) failed++;
  }
  // Leave the machine as we found it, also when `up` started only some of the services.
  if (!stackWasUp) run('npx', ['tsx', 'scripts/stack.ts', 'down']);
}
process.stdout.write(failed === 0 ? '\nnpm test: all suites passed\n' : `\nnpm test: ${failed} step(s) failed\n`);
process.exit(failed === 0 ? 0 : 1);
