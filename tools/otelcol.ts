// `npm run otelcol:build` | `npm run otelcol:serve -- <config.yaml> [collector flags…]`
// (tools/otelcol.ts, run with tsx)
//   build: builds the OpenTelemetry Collector described by tools/otelcol/builder-config.yaml
//          (core components only) into .tools/bin/otelcol, unless it is already there and was
//          built from the current manifest and builder (their hash is kept next to it, in
//          otelcol.sha256). Installs the pinned OpenTelemetry Collector Builder (ocb) into
//          .tools/ocb/<version>/ first. The first build takes about 2½ minutes; Go's module and
//          build caches make later ones fast.
//   serve: builds if needed, then runs it with the given collector configuration, e.g. an
//          `otlp` receiver and the `debug` exporter to see what Gatehouse sends.
// The manifest pins every component; the builder pin is here and must move with them.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findGo, serveForeground } from './goTool.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const MANIFEST = path.join(root, 'tools', 'otelcol', 'builder-config.yaml');
const BUILDER_MODULE = 'go.opentelemetry.io/collector/cmd/builder';
const BUILDER_VERSION = 'v0.165.0';
const BUILDER_BIN = path.join(root, '.tools', 'ocb', BUILDER_VERSION, 'builder');
/** The manifest's dist.output_path (generated sources and the fresh binary), from the root. */
const BUILD_DIR = path.join(root, '.tools', 'otelcol');
export const OTELCOL_BIN = path.join(root, '.tools', 'bin', 'otelcol');
const STAMP = `${OTELCOL_BIN}.sha256`;

/** What the binary is built from: the builder release and the manifest's text. */
function pin(): string {
  return createHash('sha256')
    .update(`${BUILDER_MODULE}@${BUILDER_VERSION}\n`)
    .update(readFileSync(MANIFEST))
    .digest('hex');
}

export function buildOtelcol(): string {
  const want = pin();
  if (existsSync(OTELCOL_BIN) && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === want)
    return OTELCOL_BIN;
  const goBin = findGo('the OpenTelemetry Collector (with its builder)');
  // The builder finds `go` on PATH (dist.go is left out of the manifest) for `go mod tidy`
  // and `go build`.
  const env = {
    ...process.env,
    PATH: [path.dirname(goBin), process.env['PATH'] ?? ''].join(path.delimiter),
  };
  if (!existsSync(BUILDER_BIN)) {
    process.stderr.write(`installing the OpenTelemetry Collector Builder ${BUILDER_VERSION}…\n`);
    execFileSync(goBin, ['install', `${BUILDER_MODULE}@${BUILDER_VERSION}`], {
      cwd: root,
      env: { ...env, GOBIN: path.dirname(BUILDER_BIN) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
  process.stderr.write(
    'building the OpenTelemetry Collector (tools/otelcol/builder-config.yaml)…\n',
  );
  mkdirSync(path.dirname(OTELCOL_BIN), { recursive: true });
  rmSync(STAMP, { force: true });
  execFileSync(BUILDER_BIN, ['--config', MANIFEST], {
    cwd: root, // dist.output_path is relative to it
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  renameSync(path.join(BUILD_DIR, 'otelcol'), OTELCOL_BIN);
  writeFileSync(STAMP, `${want}\n`);
  return OTELCOL_BIN;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const command = process.argv[2];
  const config = process.argv[3];
  if (command === 'build') {
    buildOtelcol();
  } else if (command === 'serve' && config) {
    // npm runs scripts in the root; the path is the caller's, from where npm was started.
    const file = path.resolve(process.env['INIT_CWD'] ?? process.cwd(), config);
    serveForeground(buildOtelcol(), ['--config', file, ...process.argv.slice(4)]);
  } else {
    process.stderr.write('usage: tsx tools/otelcol.ts build | serve <config.yaml> [flags…]\n');
    process.exit(2);
  }
}
