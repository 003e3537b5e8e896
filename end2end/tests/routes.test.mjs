// The WASM a first visit to each page fetches before it is interactive, printed per page and held
// under a ceiling, and client-side navigation to each page and back without a full reload or an
// error (issue 15, items 1, 2 and 7; docs/benchmarks.md, "A first visit on a tablet").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ADMIN, EMPLOYEE, startServer, launchBrowser, newPage, hydrated, signIn, errorLines, failOnCspViolations } from './support.mjs';

failOnCspViolations();

/** The budget for the gzipped WASM a first visit fetches before the page is interactive
 *  (issue 15, item 2; 1 KB = 1,024 bytes, as the issue counts). Not met: every page loads the
 *  whole client, and the code all pages share is over it alone (docs/benchmarks.md, "A first
 *  visit on a tablet"). */
const BUDGET_KB = 250;
/** What this test holds every page to until the budget is met: the client as it is, with a
 *  little room. Lower it as the client shrinks; never raise it to let a page grow unseen. Raised
 *  once, openly, from 900 KB: issue 17's screens for several states (state pickers, columns,
 *  filters, a key per state) took the client from 895 KB to 930 KB gzipped in a plain release
 *  build and 940.5 KB in the test command's (2026-12-02, after removing `serde(flatten)`, which
 *  had cost 15 KB more). Lowered to 670 KB the same day: type-erased views, one JSON reader per
 *  answer type and no chrono format patterns took the client to 658.6 KB (docs/decisions.md,
 *  "Tablets on weak Wi-Fi"). */
const CEILING_KB = 670;
/** Where the server finds the site (as `LEPTOS_SITE_ROOT` tells it, else cargo-leptos's default). */
const pkgDir = resolve(import.meta.dirname, '..', '..', process.env.LEPTOS_SITE_ROOT ?? join('target', 'site'), 'pkg');
/** Each page, who may see it, and what it shows once loaded (its heading). The submission page is
 *  visited with an id that does not exist: it says so. */
const ROUTES = [
  { path: '/login', as: null, shows: 'h1#login-title' },
  { path: '/', as: EMPLOYEE, shows: 'h1#home-title' },
  { path: '/profile', as: EMPLOYEE, shows: 'h1#profile-title' },
  { path: '/inventory/packages', as: EMPLOYEE, shows: 'h1#packages-title' },
  { path: '/inventory/plants', as: EMPLOYEE, shows: 'h1#plants-title' },
  { path: '/admin/facilities', as: ADMIN, shows: 'h1#facilities-title' },
  { path: '/admin/integrations', as: ADMIN, shows: 'h1#integrations-title' },
  { path: '/admin/users', as: ADMIN, shows: 'h1#users-title' },
  { path: '/admin/users/new', as: ADMIN, shows: 'h1#new-user-title' },
  { path: '/admin/users/1', as: ADMIN, shows: 'h1#user-title' },
  { path: '/admin/metrc-submissions/all', as: ADMIN, shows: 'h1#submissions-title' },
  { path: '/admin/metrc-submissions/detail/999999', as: ADMIN, shows: 'main [role=alert]' },
];

let server;
let browser;
/** The cookies of a signed-in session per user, so each cold visit starts with an empty cache. */
const sessions = new Map();
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  for (const who of [ADMIN, EMPLOYEE]) {
    const page = await newPage(browser);
    await signIn(page, server.base, who);
    await page.getByRole('heading', { name: `Welcome, ${who.name}` }).waitFor();
    sessions.set(who, await page.context().storageState());
    await page.context().close();
  }
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Gzipped sizes already counted, by path: every page fetches the same client file. */
const gzipped = new Map();
/** Gzipped size (level 9) of a file the server sends from /pkg. */
function gzippedSize(pathname) {
  if (!gzipped.has(pathname)) {
    const name = pathname.replace(/^\/pkg\//, '');
    gzipped.set(pathname, gzipSync(readFileSync(join(pkgDir, name)), { level: 9 }).length);
  }
  return gzipped.get(pathname);
}

test(`a first visit to each page fetches at most ${CEILING_KB} KB of gzipped WASM before it is interactive`, async () => {
  const rows = [];
  for (const route of ROUTES) {
    const page = await newPage(browser, route.as ? { storageState: sessions.get(route.as) } : {});
    const wasm = new Set();
    page.on('response', (r) => {
      const { pathname } = new URL(r.url());
      if (pathname.endsWith('.wasm')) wasm.add(pathname);
    });
    await page.goto(`${server.base}${route.path}`);
    await hydrated(page);
    await page.locator(route.shows).waitFor();
    const fetched = [...wasm];
    const bytes = fetched.reduce((sum, p) => sum + gzippedSize(p), 0);
    const kb = +(bytes / 1024).toFixed(1);
    rows.push({ route: route.path, files: fetched.length, gzipped_kb: kb, within_budget: kb <= BUDGET_KB });
    assert.deepEqual(page.problems, [], route.path);
    await page.context().close();
  }
  console.log(`WASM a first visit fetches, per page (gzip -9; budget ${BUDGET_KB} KB):`);
  console.table(rows);
  const over = rows.filter((r) => r.gzipped_kb > CEILING_KB);
  assert.deepEqual(over, [], `over ${CEILING_KB} KB (is this a release build?)`);
});

test('client-side navigation to each page and back keeps the page and logs no error', async () => {
  const page = await newPage(browser, { storageState: sessions.get(ADMIN) });
  const notFound = [];
  page.on('response', (r) => { if (r.status() === 404) notFound.push(new URL(r.url()).pathname); });
  await page.goto(`${server.base}/`);
  await hydrated(page);
  // State that a full page load would wipe out.
  await page.evaluate(() => { window.__kept = 'still here'; });
  for (const route of ROUTES.filter((r) => r.path !== '/login' && r.path !== '/')) {
    // A link the router handles like any other: the app has no link to some of these pages.
    await page.evaluate((href) => {
      const a = document.createElement('a');
      a.href = href;
      a.id = 'e2e-link';
      a.textContent = href;
      document.body.append(a);
    }, route.path);
    await page.locator('#e2e-link').click();
    await page.locator(route.shows).waitFor();
    assert.equal(new URL(page.url()).pathname, route.path);
    await page.goBack();
    await page.locator('h1#home-title').waitFor();
    await page.evaluate(() => document.getElementById('e2e-link')?.remove());
    assert.equal(await page.evaluate(() => window.__kept), 'still here', `${route.path}: no full reload`);
  }
  // The one 404 is the missing submission's, which the browser also logs.
  assert.deepEqual(notFound, ['/api/submission_detail']);
  assert.deepEqual(page.problems.filter((p) => !/status of 404/.test(p)), []);
});

test('a back link is not announced as the current page; the menu link to the page is', async () => {
  const page = await newPage(browser, { storageState: sessions.get(ADMIN) });
  for (const path of ['/admin/users/1', '/admin/users/new']) {
    await page.goto(`${server.base}${path}`);
    await hydrated(page);
    const back = page.getByRole('link', { name: 'Back to User Management' });
    assert.equal(await back.getAttribute('aria-current'), null, `${path}: its back link`);
  }
  await page.goto(`${server.base}/admin/users`);
  await hydrated(page);
  const current = await page.locator('header a[aria-current="page"]').allTextContents();
  assert.deepEqual(current.map((t) => t.trim()), ['User Management']);
  await page.context().close();
});

test('the server logged no error while this file ran', () => {
  assert.deepEqual(errorLines(server), []);
});
