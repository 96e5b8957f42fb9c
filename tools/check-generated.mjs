// Fails when src/generated/graphql.ts is not what `npm run codegen` produces from schema/.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const file = 'src/generated/graphql.ts';
const before = readFileSync(file, 'utf8');
const run = spawnSync('graphql-codegen', ['--config', 'codegen.ts', '--silent'], {
  stdio: 'inherit',
  shell: false,
});
if (run.status !== 0) process.exit(run.status ?? 1);
const after = readFileSync(file, 'utf8');
if (before !== after) {
  console.error(`${file} was stale: run \`npm run codegen\` and commit the result.`);
  process.exit(1);
}
console.log(`${file} is up to date`);
