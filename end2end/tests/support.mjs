// Starts a release build of Tracekeeper on a free loopback port with a fresh SQLite database,
// and Debian's Chromium through playwright-core. Shared by every end-to-end test file.
import { chromium } from 'playwright-core';
import { afterEach } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ADMIN = { email: 'admin@example.test', password: 'e2e-admin-password', name: 'Administrator' };
export const EMPLOYEE = { email: 'employee@example.test', password: 'e2e-employee-password', name: 'Erin Employee' };

const repoRoot = resolve(import.meta.dirname, '..', '..');
const bin = process.env.TRACEKEEPER_BIN ?? join(repoRoot, 'target', 'release', 'tracekeeper');

/** The log lines that give the addresses a server started with port 0 is on (`startup.rs`,
 *  `embedded_metrc.rs`: one line per state's embedded sandbox); `RUST_LOG` must let them through
 *  at info. */
const ANNOUNCED_BASE = /Tracekeeper is listening on (http:\/\/[0-9.]+:\d+)/;
const ANNOUNCED_SANDBOX = /embedded Metrc sandbox for ([A-Za-z]+) running[^\n]*?GET (http:\/\/[0-9.]+:\d+)\/sandbox\/employees/g;
const STARTUP_LOGS = 'warn,server::startup=info,server::embedded_metrc=info';

/** The states a server embeds a sandbox for (`TRACEKEEPER_SANDBOX_STATES` of `env`), upper case,
 *  in order, each once. */
function sandboxStates(env) {
  const codes = (env.TRACEKEEPER_SANDBOX_STATES ?? '').split(',').map((c) => c.trim().toUpperCase()).filter(Boolean);
  return [...new Set(codes)];
}

/** What the server's logs say so far: its address, and each state's sandbox (`{ CA: url }`, in
 *  the order they were announced). */
function announced(text) {
  const sandboxes = {};
  for (const [, code, url] of text.matchAll(ANNOUNCED_SANDBOX)) sandboxes[code.toUpperCase()] ??= url;
  return { base: text.match(ANNOUNCED_BASE)?.[1], sandboxes };
}

/** Waits until the server has said where it listens and where the sandbox of each of `states`
 *  listens (of at least one when `states` is empty: the server's default states), and answers
 *  `/healthz`; returns `{ base, sandboxes }`. Each listens on a port the system picked (port 0),
 *  so no other process can take it between choosing and binding. */
async function waitForHealth(proc, logs, states) {
  const deadline = Date.now() + 30_000;
  let found = {};
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`tracekeeper exited (${proc.exitCode}):\n${logs.join('')}`);
    found = announced(logs.join(''));
    const sandboxesUp = states.length > 0
      ? states.every((code) => found.sandboxes[code])
      : Object.keys(found.sandboxes).length > 0;
    if (found.base && sandboxesUp) {
      try {
        const r = await fetch(`${found.base}/healthz`);
        if (r.ok) return found;
      } catch { /* not up yet */ }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tracekeeper did not become healthy (addresses seen: ${JSON.stringify(found)}; sandboxes expected for ${states.join(', ') || 'the default states'}; RUST_LOG must show ${STARTUP_LOGS}):\n${logs.join('')}`);
}

/** A running server with a first admin and one employee. `stop()` ends it and deletes its data.
 *  `extraEnv` overrides its environment (e.g. `RUST_LOG`; `undefined` unsets a variable). It
 *  serves one state, California, through its embedded sandbox unless `extraEnv` names others
 *  (`TRACEKEEPER_SANDBOX_STATES: 'CA,CO'`): `sandboxes` holds each state's sandbox address by
 *  code (`{ CA, CO }`), `sandbox` the first state's. */
export async function startServer(extraEnv = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tracekeeper-e2e-'));
  const env = {
    ...process.env,
    TRACEKEEPER_ADDR: '127.0.0.1:0',
    TRACEKEEPER_SANDBOX_ADDR: '127.0.0.1:0',
    TRACEKEEPER_DATA_DIR: dataDir,
    TRACEKEEPER_ADMIN_EMAIL: ADMIN.email,
    TRACEKEEPER_ADMIN_PASSWORD: ADMIN.password,
    // One state unless a test asks for several: with several, the screens ask which state.
    TRACEKEEPER_SANDBOX_STATES: 'CA',
    RUST_LOG: STARTUP_LOGS,
    ...extraEnv,
  };
  delete env.DATABASE_URL;
  // Real Metrc (one host, or one per state) would replace the embedded sandboxes.
  delete env.METRC_BASE_URL;
  delete env.METRC_STATES;
  // A variable `extraEnv` gives as `undefined` is unset.
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  const logs = [];
  const proc = spawn(bin, [], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d) => logs.push(d.toString()));
  proc.stderr.on('data', (d) => logs.push(d.toString()));
  const states = sandboxStates(env);
  const { base, sandboxes } = await waitForHealth(proc, logs, states);
  const sandbox = sandboxes[states[0]] ?? Object.values(sandboxes)[0];
  const createUser = (who, role = 'employee') => execFileSync(
    bin,
    ['create-user', '--email', who.email, '--name', who.name, '--role', role, '--can-submit'],
    { cwd: repoRoot, env, input: `${who.password}\n` },
  );
  createUser(EMPLOYEE);
  return {
    /** Adds a user who may submit to Metrc (`create-user`). */
    createUser,
    base,
    /** The first state's sandbox (California's unless `extraEnv` says otherwise). */
    sandbox,
    /** Each state's sandbox by its code: `{ CA: 'http://127.0.0.1:PORT', CO: ... }`. */
    sandboxes,
    logs,
    dataDir,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** Every Content-Security-Policy violation any page of this file reported, not yet failed on. */
const cspViolations = [];

/** Makes every test of the calling file fail when a page it opened reported a
 *  Content-Security-Policy violation (a blocked script, style, connection...): a policy that
 *  blocks what the app needs breaks hydration silently otherwise (docs/decisions.md,
 *  "Content-Security-Policy"). Call it once at the top of a test file. */
export function failOnCspViolations() {
  afterEach(() => {
    const seen = cspViolations.splice(0);
    if (seen.length > 0) throw new Error(`Content-Security-Policy violations:\n${seen.join('\n')}`);
  });
}

/** A page that records console errors, failed requests and CSP violations, so tests can assert
 *  there are none (`failOnCspViolations` fails on the last without being asked). */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext(options);
  // The browser's own report of each violation (the `securitypolicyviolation` event), handed to
  // Node through a binding, which no page policy can block.
  await context.exposeBinding('__tracekeeperCspViolation', (_source, violation) => {
    cspViolations.push(`securitypolicyviolation: ${violation}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__tracekeeperCspViolation(
        `${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} in ${e.documentURI}`,
      );
    });
  });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`console: ${m.text()}`);
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  // A request the test itself cut short by navigating away (net::ERR_ABORTED) is not a problem.
  page.on('requestfailed', (r) => {
    if (!r.failure()?.errorText.includes('ERR_ABORTED')) page.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => { if (r.status() >= 500) page.problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return page;
}

/** Waits until the WASM app has hydrated (the body is interactive). */
export async function hydrated(page) {
  await page.waitForFunction(() => document.body.dataset.hydrated === 'true', null, { timeout: 15_000 });
}

/** Waits until `page` is at `path` of `server`, loaded (`page.waitForURL`). When it does not get
 *  there, the error says where the page is instead, what its main region shows and what the
 *  server logged: a redirect that did not happen is told from a slow one by those. */
export async function arrivedAt(page, server, path) {
  try {
    await page.waitForURL(`${server.base}${path}`);
  } catch (error) {
    const shown = await page.locator('main').innerText({ timeout: 2_000 }).catch((e) => `(no main: ${e.message})`);
    throw new Error(
      `${error.message}\nThe page is at ${page.url()} and shows:\n${shown.slice(0, 600)}\n`
        + `The server logged (last lines):\n${server.logs.join('').split('\n').slice(-40).join('\n')}`,
    );
  }
}

export async function signIn(page, base, who) {
  await page.goto(`${base}/login`);
  await hydrated(page);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The sections Metrc keys are validated for (the panel's columns), as the sandbox names them. */
export const SECTIONS = [
  'Employees', 'Locations', 'Strains', 'Items', 'Packages', 'Plant Batches', 'Plants', 'Harvests',
  'Transfers', 'Sales', 'Patients', 'Processing Jobs',
];

/** Calls the sandbox's admin API (docs/design.md §10); returns the parsed JSON answer. */
export async function sandboxApi(server, method, path, body) {
  const r = await fetch(`${server.sandbox}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(`sandbox ${method} ${path}: ${r.status} ${await r.text()}`);
  const text = await r.text();
  return text ? JSON.parse(text) : null;
}

/** A sandbox employee (`{ id, api_key }`) who owns `ownerOf` and has `sections` (default: all)
 *  on each of `licenses`. */
export async function sandboxEmployee(server, { name, licenses, ownerOf = licenses, sections = SECTIONS }) {
  const permissions = Object.fromEntries(licenses.map((l) => [l, sections]));
  return sandboxApi(server, 'POST', '/sandbox/employees', { name, owner_of: ownerOf, permissions });
}

/** Records every key used and everything the browser received, to prove no key leaks. */
export class LeakCheck {
  keys = [];
  received = [];
  #pending = [];

  /** Records every response body `page` receives from now on. */
  watch(page) {
    page.on('response', (r) => {
      this.#pending.push(r.text().then((body) => this.received.push(`${r.url()}\n${body}`), () => {}));
    });
  }

  /** Records the page as rendered now. */
  async snapshot(page) {
    this.received.push(`${page.url()} (DOM)\n${await page.content()}`);
  }

  /** Asserts that no recorded key occurs in any response, page, the server's logs or any file
   *  of its data directory (the SQLite database and its journal included). */
  async assertNoLeak(server, assert) {
    await Promise.all(this.#pending);
    assert.ok(this.keys.length > 0 && this.received.length > 10, `${this.keys.length} keys, ${this.received.length} bodies`);
    const places = [...this.received, server.logs.join('')];
    for (const file of readdirSync(server.dataDir, { recursive: true })) {
      try {
        places.push(readFileSync(join(server.dataDir, file)).toString('latin1'));
      } catch { /* a directory */ }
    }
    for (const key of this.keys) {
      for (const place of places) {
        assert.ok(!place.includes(key), `plaintext key ...${key.slice(-4)} found in: ${place.slice(0, 120)}`);
      }
    }
  }
}

/** The most talkative logs that are still ours: the leak checks read them. */
export const DEBUG_LOGS = { RUST_LOG: 'info,app=debug,server=debug,metrc=debug,tracekeeper=debug' };

/** The lines the server logged at ERROR level so far (colours stripped). A normal session, the
 *  refusals and failures these tests provoke included, logs none: each file ends by asserting it.
 *  A refused server-function call answers 4xx and Metrc being unavailable 503, neither of which
 *  is logged at ERROR (docs/decisions.md, "Rate limits and status codes"). */
export function errorLines(server) {
  return server.logs.join('')
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .filter((line) => /^\S+\s+ERROR\s/.test(line));
}
