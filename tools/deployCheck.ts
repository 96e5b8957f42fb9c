// `npm run deploy:check` (tools/deployCheck.ts, run with tsx): checks the deployment files
// without a container engine (there is none on the machines this project is built on).
//   - deploy/compose.yaml is loaded by compose-go (tools/compose/, the loader `docker
//     compose` itself uses: the Compose specification's schema, references, interpolation)
//     with the compose variables and a gatehouse.env given; the loaded project is JSON.
//   - deploy/Dockerfile is linted by dockerfile-utils (the Dockerfile language server's
//     validator) and held to the image's promises: multi-stage on Node 24, a non-root user,
//     a HEALTHCHECK on /readyz, no secret baked in.
// hadolint is not obtainable here (not in Debian; its PyPI wheel cannot be reached; the npm
// package `hadolint` downloads it from GitHub), so it is not run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from 'dockerfile-utils';
import { findGo } from './goTool.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const module = path.join(root, 'tools', 'compose');
const BIN = path.join(root, '.tools', 'bin', 'compose-check');
const DEPLOY = path.join(root, 'deploy');

/** Builds tools/compose into .tools/bin/compose-check unless it is newer than its sources. */
export function buildComposeCheck(): string {
  const newest = Math.max(
    ...['go.mod', 'go.sum', 'main.go'].map((f) => statSync(path.join(module, f)).mtimeMs),
  );
  if (existsSync(BIN) && statSync(BIN).mtimeMs >= newest) return BIN;
  execFileSync(findGo('compose-check'), ['build', '-o', BIN, '.'], {
    cwd: module,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return BIN;
}

export type ComposeResult =
  | { readonly ok: true; readonly project: ComposeProject }
  | { readonly ok: false; readonly error: string };

export interface ComposeService {
  readonly image?: string;
  readonly environment?: Record<string, string | null>;
  readonly read_only?: boolean;
  readonly user?: string;
  readonly cap_drop?: string[];
  readonly depends_on?: Record<string, { condition: string }>;
  readonly ports?: Array<{ published: string; target: number }>;
  readonly healthcheck?: { disable?: boolean; test?: string[] };
}

export interface ComposeProject {
  readonly services: Record<string, ComposeService>;
}

/**
 * Loads deploy/compose.yaml (copied with nginx.conf and the rest into a directory of its
 * own) with `variables` as its .env and `gatehouseEnv` as gatehouse.env (absent: none).
 */
export async function loadCompose(
  variables: Record<string, string>,
  gatehouseEnv: string | undefined,
): Promise<ComposeResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-compose-'));
  try {
    for (const file of ['compose.yaml', 'nginx.conf', 'otelcol.yaml', 'postgres-init.sh']) {
      await copyFile(path.join(DEPLOY, file), path.join(dir, file));
    }
    const dotEnv = Object.entries(variables)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n');
    await writeFile(path.join(dir, '.env'), `${dotEnv}\n`);
    if (gatehouseEnv !== undefined) await writeFile(path.join(dir, 'gatehouse.env'), gatehouseEnv);
    // Only the variables given: nothing of this shell's environment.
    const result = spawnSync(
      buildComposeCheck(),
      [path.join(dir, 'compose.yaml'), path.join(dir, '.env')],
      {
        cwd: dir,
        env: { PATH: process.env['PATH'] ?? '', HOME: os.tmpdir() },
        encoding: 'utf8',
      },
    );
    if (result.status !== 0) return { ok: false, error: result.stderr };
    return { ok: true, project: JSON.parse(result.stdout) as ComposeProject };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface DockerfileProblem {
  readonly line: number;
  readonly message: string;
}

const SECRET_NAME = /(KEY|SECRET|PASSWORD|TOKEN|PEPPER|CREDENTIAL)/i;

/** dockerfile-utils' problems, then the image's own promises, as problems. */
export function lintDockerfile(text: string): DockerfileProblem[] {
  const problems: DockerfileProblem[] = validate(text).map((d) => ({
    line: d.range.start.line + 1,
    message: typeof d.message === 'string' ? d.message : d.message.value,
  }));
  const lines = text.split('\n');
  const instructions = lines
    .map((line, i) => ({ line: i + 1, text: line.trim() }))
    .filter((l) => /^[A-Z]+\s/.test(l.text));
  const from = instructions.filter((l) => l.text.startsWith('FROM '));
  if (from.length < 2) problems.push({ line: 1, message: 'not multi-stage' });
  for (const f of from) {
    if (!/^FROM node:24[-.\w]*( AS \w+)?$/.test(f.text)) {
      problems.push({ line: f.line, message: `not a Node 24 base: ${f.text}` });
    }
  }
  const lastFrom = from.at(-1)?.line ?? 0;
  const users = instructions.filter((l) => l.text.startsWith('USER ') && l.line > lastFrom);
  const user = users.at(-1)?.text.slice(5).trim();
  if (!user || user === 'root' || user === '0') {
    problems.push({ line: lastFrom, message: 'the final stage runs as root' });
  }
  if (!/^HEALTHCHECK .*\/readyz/m.test(text.replace(/\\\n/g, ' '))) {
    problems.push({ line: 1, message: 'no HEALTHCHECK on /readyz' });
  }
  for (const l of instructions) {
    const env = /^(ENV|ARG)\s+(.*)$/.exec(l.text);
    if (env) {
      for (const name of env[2]!.split(/\s+/).map((kv) => kv.split('=')[0]!)) {
        if (SECRET_NAME.test(name)) {
          problems.push({ line: l.line, message: `a secret baked into the image: ${name}` });
        }
      }
    }
    if (/^COPY\b.*(\.env\b|\.gatehouse|dev-keys|\.pem\b|\.key\b)/.test(l.text)) {
      problems.push({ line: l.line, message: `copies secret material: ${l.text}` });
    }
  }
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const dockerfile = await readFile(path.join(DEPLOY, 'Dockerfile'), 'utf8');
  const problems = lintDockerfile(dockerfile);
  for (const p of problems) process.stderr.write(`deploy/Dockerfile:${p.line}: ${p.message}\n`);
  const placeholders = Object.fromEntries(
    [
      'POSTGRES_PASSWORD',
      'SPICEDB_DB_PASSWORD',
      'SPICEDB_PRESHARED_KEY',
      'GATEHOUSE_APP_PASSWORD',
      'GATEHOUSE_OWNER_PASSWORD',
    ].map((k) => [k, 'checked']),
  );
  const compose = await loadCompose(placeholders, '');
  if (!compose.ok) process.stderr.write(`deploy/compose.yaml: ${compose.error}\n`);
  if (problems.length > 0 || !compose.ok) process.exit(1);
  process.stdout.write(
    `deploy:check ok: Dockerfile (dockerfile-utils and the image rules), compose.yaml (compose-go: ${Object.keys(compose.project.services).length} services)\n`,
  );
}
