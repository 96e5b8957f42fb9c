// `npm run policies:test` | `npm run policies:build` | `npm run policies:check`
// (tools/policies.ts, run with tsx)
//   test:  opa test with coverage over policies/rego; fails below 90% coverage.
//   build: opa build -t wasm, one entrypoint per decision, against the opa-wasm SDK's
//          capabilities (an unsupported builtin fails the build); writes policies/policy.wasm.
//   check: builds into a temporary file and fails if it differs from the committed one.
// The OPA CLI is the Go tool pinned in tools/go.mod (`go tool opa`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const tools = path.join(root, 'tools');
const rego = path.join(root, 'policies', 'rego');
const wasmFile = path.join(root, 'policies', 'policy.wasm');
const capabilities = path.join(
  root,
  'node_modules',
  '@open-policy-agent',
  'opa-wasm',
  'capabilities.json',
);
const ENTRYPOINTS = ['gatehouse/workflow/approval/decision', 'gatehouse/classification/decision'];
const MIN_COVERAGE = 90;

interface CoverageReport {
  coverage?: number;
  files?: Record<string, { coverage?: number }>;
}

function opa(
  args: string[],
  options: { stdio?: ['ignore', 'inherit' | 'pipe', 'inherit'] } = {},
): Buffer {
  return execFileSync('go', ['tool', 'opa', ...args], {
    cwd: tools,
    stdio: ['ignore', 'pipe', 'inherit'],
    ...options,
  });
}

/** The policy.wasm member of an `opa build` bundle (a gzipped tar). */
function wasmOf(bundle: Buffer): Buffer {
  const tar = gunzipSync(bundle);
  for (let offset = 0; offset + 512 <= tar.length;) {
    const name = tar
      .subarray(offset, offset + 100)
      .toString('utf8')
      .replace(/\0.*$/s, '');
    if (!name) break;
    const size = parseInt(
      tar
        .subarray(offset + 124, offset + 136)
        .toString('utf8')
        .replace(/\0.*$/s, '')
        .trim() || '0',
      8,
    );
    if (name.replace(/^\/+/, '') === 'policy.wasm')
      return tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error('policy.wasm not found in the bundle');
}

/**
 * The SDK's capabilities list the builtins and wasm ABI versions its host supports, but
 * predate Rego v1's language features; those come from the pinned OPA.
 */
function writeCapabilities(dir: string): string {
  const sdk = JSON.parse(readFileSync(capabilities, 'utf8')) as Record<string, unknown>;
  const current = JSON.parse(opa(['capabilities', '--current']).toString('utf8')) as {
    features?: string[];
  };
  const file = path.join(dir, 'capabilities.json');
  writeFileSync(file, JSON.stringify({ ...sdk, features: current.features }));
  return file;
}

function build(): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-opa-'));
  try {
    const out = path.join(dir, 'bundle.tar.gz');
    opa([
      'build',
      '-t',
      'wasm',
      '--capabilities',
      writeCapabilities(dir),
      ...ENTRYPOINTS.flatMap((e) => ['-e', e]),
      '-o',
      out,
      // Relative: the wasm embeds source paths, and it must not depend on the checkout's location.
      path.relative(tools, rego),
    ]);
    return wasmOf(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const command = process.argv[2];
if (command === 'test') {
  const report = JSON.parse(
    opa(['test', '--coverage', '--format', 'json', rego]).toString('utf8'),
  ) as CoverageReport;
  const coverage = report.coverage ?? 0;
  const files = Object.entries(report.files ?? {}).map(
    ([f, v]) => `  ${path.basename(f)}: ${(v.coverage ?? 0).toFixed(1)}%`,
  );
  opa(['test', rego], { stdio: ['ignore', 'inherit', 'inherit'] });
  console.log(
    `policies:test coverage ${coverage.toFixed(1)}% (minimum ${MIN_COVERAGE}%)\n${files.join('\n')}`,
  );
  if (coverage < MIN_COVERAGE) process.exit(1);
} else if (command === 'build') {
  writeFileSync(wasmFile, build());
  console.log(`wrote ${path.relative(root, wasmFile)}`);
} else if (command === 'check') {
  if (!build().equals(readFileSync(wasmFile))) {
    console.error('policies/policy.wasm is stale: run `npm run policies:build` and commit it.');
    process.exit(1);
  }
  console.log('policies/policy.wasm is up to date');
} else {
  console.error('usage: npm run policies:test|build|check');
  process.exit(2);
}
