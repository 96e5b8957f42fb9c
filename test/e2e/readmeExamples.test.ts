/**
 * The README's curl examples, run as written: every block with `curl` in it is marked with
 * a `readme-test` comment (test/support/readme/readmeBlocks.ts) that says which server it
 * talks to and what each command's outcome is, or why the block is not runnable. The
 * blocks run in README order in one bash (variables carry over, as in the reader's
 * terminal) with the real curl and the real `npm run -s token` — minting with the test
 * servers' development key — against test servers in `npm start`'s configuration;
 * `localhost:4000` becomes the server's address. What the README shows under a command
 * (`#  {"data": …}`) is checked as shown, and each marker claim is checked as claimed.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readmeBlocks,
  type ReadmeBlock,
  type ReadmeCommand,
} from '../support/readme/readmeBlocks.js';
import {
  checkClaim,
  shownDifferences,
  shownJson,
  substitute,
  type Bindings,
  type CommandOutcome,
} from '../support/readme/readmeClaims.js';
import { ShellSession, type BackgroundCommand } from '../support/readme/shellSession.js';
import { GENEROUS_EDGE_LIMITS, startTestServer, type TestServer } from '../support/testServer.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const README = await readFile(path.join(ROOT, 'README.md'), 'utf8');
const BLOCKS = readmeBlocks(README);
const RUNNABLE = BLOCKS.filter((b) => b.marker && !b.marker.notRunnable);
const DEFAULT_SERVER = 'walkthrough';

/** A claim the runner acts on rather than checks. */
const DIRECTIVES = {
  startsServer: 'starts the server',
  terminal: 'terminal',
  terminalUntilSubscribed: 'terminal until subscribed',
} as const;
const isDirective = (claim: string) => (Object.values(DIRECTIVES) as string[]).includes(claim);

/**
 * `npm start`'s configuration, as far as the README's answers depend on it: development
 * (errors carry `explain`), the embedded database in a directory of its own (the CLIs of a
 * block open it too), the default rate limits, and the shared development keys that
 * `npm run token` mints with. Quiet logs and no policy file watching: neither changes an
 * answer.
 */
function npmStartEnv(keysDir: string, dataDir: string): Record<string, string | undefined> {
  return {
    NODE_ENV: 'development',
    LOG_LEVEL: 'silent',
    POLICY_WATCH: 'false',
    DEV_KEYS_DIR: keysDir,
    PGLITE_DATA_DIR: dataDir,
    DATABASE_URL: undefined,
    DATABASE_OWNER_URL: undefined,
    ...Object.fromEntries(Object.keys(GENEROUS_EDGE_LIMITS).map((k) => [k, undefined])),
  };
}

interface ServerSlot {
  readonly dataDir: string;
  server?: TestServer;
}

describe('the README’s curl examples', () => {
  let work: string;
  let keysDir: string;
  let shell: ShellSession;
  const servers = new Map<string, ServerSlot>();

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-readme-servers-'));
    keysDir = path.join(work, 'dev-keys');
    // The reader's shell: no test settings, no PostgreSQL (the walkthrough is `npm start`'s).
    const {
      NODE_ENV: _test,
      DATABASE_URL: _app,
      DATABASE_OWNER_URL: _owner,
      DATABASE_ADMIN_URL: _admin,
      ...env
    } = process.env;
    env['DEV_KEYS_DIR'] = keysDir;
    shell = await ShellSession.start(env, ROOT);
  });

  afterAll(async () => {
    await shell.close();
    for (const slot of servers.values()) await slot.server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  function slotOf(block: ReadmeBlock): ServerSlot {
    const name = block.marker?.server?.name ?? DEFAULT_SERVER;
    let slot = servers.get(name);
    if (!slot) {
      slot = { dataDir: path.join(work, name, 'pgdata') };
      servers.set(name, slot);
    }
    return slot;
  }

  async function startServer(block: ReadmeBlock, slot: ServerSlot): Promise<TestServer> {
    slot.server ??= await startTestServer({
      ...npmStartEnv(keysDir, slot.dataDir),
      ...block.marker?.server?.env,
    });
    await shell.export({ GATEHOUSE_WS_URL: `${slot.server.url.replace('http', 'ws')}/graphql` });
    return slot.server;
  }

  /** Stops the servers no block after `block` talks to. */
  async function stopFinished(block: ReadmeBlock): Promise<void> {
    const later = RUNNABLE.slice(RUNNABLE.indexOf(block) + 1).map(
      (b) => b.marker?.server?.name ?? DEFAULT_SERVER,
    );
    for (const [name, slot] of servers) {
      if (!later.includes(name) && slot.server) {
        await slot.server.stop();
        delete slot.server;
      }
    }
  }

  /** The command as the test runs it: the server's address, the placeholders' values. */
  function asRun(text: string, server: TestServer | undefined, bindings: Bindings): string {
    const withValues = substitute(text, bindings);
    if (!withValues.includes('localhost:4000')) return withValues;
    if (!server) throw new Error('the command talks to the server before the block starts it');
    return withValues.replaceAll('localhost:4000', new URL(server.url).host);
  }

  function problemsOf(
    command: ReadmeCommand,
    claims: readonly string[],
    outcome: CommandOutcome,
    bindings: Bindings,
  ): string[] {
    const problems: string[] = [];
    const shown = shownJson(command.shown);
    if (shown) {
      let body: unknown;
      try {
        body = JSON.parse(outcome.out);
      } catch {
        body = outcome.out;
      }
      problems.push(...shownDifferences(shown.value, body, bindings));
    }
    for (const claim of claims) {
      const problem = checkClaim(claim, outcome, command.shown, bindings);
      if (problem) problems.push(problem);
    }
    if (!claims.some((c) => c.startsWith('exit ')) && outcome.exit !== 0)
      problems.push(`exit ${outcome.exit}`);
    return problems.map(
      (p) => `line ${command.line}, command ${command.index}: ${p}\n  stderr: ${outcome.err}`,
    );
  }

  /**
   * Checks a terminal's claims until they hold (its events arrive on their own time), then
   * interrupts it as the reader would (Ctrl-C: its exit code is then ours, not checked).
   */
  async function settleTerminal(
    command: ReadmeCommand,
    claims: readonly string[],
    terminal: BackgroundCommand,
    bindings: Bindings,
  ): Promise<string[]> {
    const deadline = Date.now() + 15_000;
    let problems: string[];
    for (;;) {
      const ended = !terminal.running();
      problems = problemsOf(command, claims, { ...(await terminal.outcome()), exit: 0 }, bindings);
      if (ended) problems.push(`line ${command.line}: the terminal's command ended by itself`);
      if (ended || problems.length === 0 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await terminal.stop();
    return problems;
  }

  async function runBlock(block: ReadmeBlock): Promise<string[]> {
    const slot = slotOf(block);
    await shell.export({ PGLITE_DATA_DIR: slot.dataDir });
    const claimsOf = (c: ReadmeCommand) => block.marker?.claims.get(c.index) ?? [];
    const startsItself = block.commands.some((c) => claimsOf(c).includes(DIRECTIVES.startsServer));
    let server = startsItself ? slot.server : await startServer(block, slot);
    const bindings: Bindings = new Map();
    const problems: string[] = [];
    const terminals: Array<() => Promise<string[]>> = [];
    for (const step of block.steps) {
      if (step.kind === 'setup') {
        const outcome = await shell.run(asRun(step.text, server, bindings));
        if (outcome.exit !== 0)
          problems.push(`line ${step.line}: exit ${outcome.exit}: ${outcome.err}`);
        continue;
      }
      const { command } = step;
      const claims = claimsOf(command);
      const checks = claims.filter((c) => !isDirective(c));
      if (claims.includes(DIRECTIVES.startsServer)) {
        server = await startServer(block, slot);
        continue;
      }
      const text = asRun(command.text, server, bindings);
      if (
        claims.includes(DIRECTIVES.terminal) ||
        claims.includes(DIRECTIVES.terminalUntilSubscribed)
      ) {
        const feed = server!.gatehouse.auditFeed;
        const before = feed.subscribers;
        const terminal = await shell.background(text);
        if (claims.includes(DIRECTIVES.terminalUntilSubscribed)) {
          const deadline = Date.now() + 20_000;
          while (feed.subscribers <= before && Date.now() < deadline)
            await new Promise((resolve) => setTimeout(resolve, 50));
          if (feed.subscribers <= before) problems.push(`line ${command.line}: never subscribed`);
        }
        terminals.push(() => settleTerminal(command, checks, terminal, bindings));
        continue;
      }
      problems.push(...problemsOf(command, checks, await shell.run(text), bindings));
    }
    for (const settle of terminals) problems.push(...(await settle()));
    await stopFinished(block);
    return problems;
  }

  it('marks every curl block: where it runs and what each command answers, or why it cannot run', () => {
    expect(BLOCKS.flatMap((b) => b.problems)).toEqual([]);
    expect(RUNNABLE.length).toBeGreaterThan(5);
  });

  for (const block of BLOCKS.filter((b) => b.marker)) {
    const name = `${block.heading} (README line ${block.line})`;
    if (block.marker!.notRunnable) {
      it.skip(`${name} — not runnable: ${block.marker!.notRunnable}`, () => undefined);
      continue;
    }
    it(
      name,
      async () => {
        expect(block.problems).toEqual([]);
        expect(await runBlock(block)).toEqual([]);
      },
      180_000,
    );
  }
});
