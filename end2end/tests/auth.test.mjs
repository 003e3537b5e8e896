// Sign in, sign out, wrong password, an employee kept out of /admin, and hydration (client-side
// navigation that keeps page state), on desktop and on a touch tablet; the client's files sent
// compressed and cached by their hashed names.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, EMPLOYEE, startServer, launchBrowser, newPage, hydrated, signIn, arrivedAt, errorLines, failOnCspViolations } from './support.mjs';

failOnCspViolations();

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the first admin signs in and out', async () => {
  const page = await newPage(browser);
  await page.goto(`${server.base}/`);
  await arrivedAt(page, server, '/login');
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in');

  await signIn(page, server.base, ADMIN);
  await page.getByRole('heading', { name: `Welcome, ${ADMIN.name}` }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/');
  await page.getByText(ADMIN.name, { exact: true }).waitFor();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await arrivedAt(page, server, '/login');
  await page.goto(`${server.base}/admin/users`);
  await arrivedAt(page, server, '/login');
  assert.deepEqual(page.problems, []);
});

test('a wrong password gets one generic message and no session', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, { email: ADMIN.email, password: 'not-the-password' });
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.equal((await alert.textContent()).trim(), 'Wrong email or password.');
  assert.equal(new URL(page.url()).pathname, '/login');
  await page.goto(`${server.base}/`);
  await arrivedAt(page, server, '/login');
});

test('an employee is denied /admin and sees no Admin menu', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, EMPLOYEE);
  await page.getByRole('heading', { name: `Welcome, ${EMPLOYEE.name}` }).waitFor();
  assert.equal(await page.getByText('Admin', { exact: true }).count(), 0);

  const response = await page.goto(`${server.base}/admin/users`);
  assert.equal(response.status(), 403);
  await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
  assert.equal(await page.getByRole('table').count(), 0);
});

test('after hydration, navigation is client-side and keeps page state', async () => {
  const page = await newPage(browser);
  await signIn(page, server.base, ADMIN);
  await page.getByRole('heading', { name: `Welcome, ${ADMIN.name}` }).waitFor();
  await hydrated(page);
  // State that a full page load would wipe out.
  await page.evaluate(() => { window.__kept = 'still here'; });

  await page.getByText('Admin', { exact: true }).click();
  await page.getByRole('link', { name: 'User Management' }).first().click();
  await page.getByRole('heading', { name: 'User Management' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/admin/users');
  assert.equal(await page.evaluate(() => window.__kept), 'still here');
  assert.equal(await page.locator('details.menu').evaluate((d) => d.open), false, 'the Admin menu closes after navigating');
  const row = page.getByRole('row').filter({ hasText: EMPLOYEE.email });
  await row.waitFor();
  assert.match(await row.textContent(), /Employee/);
  assert.deepEqual(page.problems, []);
});

test('on a touch tablet the controls are at least 44 px and nothing overflows', async () => {
  const page = await newPage(browser, { viewport: { width: 768, height: 1024 }, hasTouch: true, isMobile: true });
  await page.goto(`${server.base}/login`);
  await hydrated(page);
  for (const control of [page.getByLabel('Email'), page.getByLabel('Password'), page.getByRole('button', { name: 'Sign in' })]) {
    const box = await control.boundingBox();
    assert.ok(box.height >= 44, `height ${box.height}`);
  }
  await page.getByLabel('Email').tap();
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).tap();
  await page.getByRole('heading', { name: `Welcome, ${ADMIN.name}` }).waitFor();
  const summary = page.getByText('Admin', { exact: true });
  assert.ok((await summary.boundingBox()).height >= 44);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);
});

test('the client is sent compressed and cached by its hashed name: a second visit downloads no WASM', async () => {
  const page = await newPage(browser);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  let wasm = [];
  cdp.on('Network.responseReceived', (e) => { if (/\.wasm$/.test(new URL(e.response.url).pathname)) wasm.push(e.response); });
  const header = (response, name) => Object.entries(response.headers).find(([k]) => k.toLowerCase() === name)?.[1];

  const html = await page.goto(`${server.base}/login`);
  await hydrated(page);
  assert.equal(html.headers()['cache-control'], 'no-store', 'pages are never cached');
  const fetched = wasm.filter((r) => !r.fromDiskCache && !r.fromMemoryCache);
  assert.ok(fetched.length >= 1, 'the first visit fetches the WASM');
  for (const r of fetched) {
    assert.match(new URL(r.url).pathname, /^\/pkg\/tracekeeper\.[\w-]+\.wasm$/, 'a content-hashed name');
    assert.match(header(r, 'content-encoding') ?? '', /^(br|gzip)$/, 'sent compressed');
    assert.equal(header(r, 'cache-control'), 'public, max-age=31536000, immutable');
  }

  wasm = [];
  await page.goto(`${server.base}/login`);
  await hydrated(page);
  assert.deepEqual(wasm.filter((r) => !r.fromDiskCache && !r.fromMemoryCache).map((r) => r.url), [], 'the second visit downloads no WASM');
  assert.deepEqual(page.problems, []);
});

test('a generated first-admin password leads to Profile until it is changed', async () => {
  // No TRACEKEEPER_ADMIN_PASSWORD: the password is generated.
  const fresh = await startServer({ TRACEKEEPER_ADMIN_PASSWORD: undefined });
  try {
    const generated = readFileSync(join(fresh.dataDir, 'first-admin-password.txt'), 'utf8').trim();
    const page = await newPage(browser);
    await signIn(page, fresh.base, { email: ADMIN.email, password: generated });
    await arrivedAt(page, fresh, '/profile');
    await page.getByText('Change it below before doing anything else').waitFor();
    await page.goto(`${fresh.base}/admin/users`);
    await arrivedAt(page, fresh, '/profile');
    await hydrated(page);

    await page.getByLabel('Current password').fill(generated);
    await page.getByLabel('New password').fill('the admin chose this one');
    await page.getByRole('button', { name: 'Change password' }).click();
    // The page opens up: the notice goes and the user's key section appears.
    await page.getByText('Change it below before doing anything else').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Update' }).waitFor();
    await page.goto(`${fresh.base}/admin/users`);
    await page.getByRole('heading', { name: 'User Management' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/admin/users');
    assert.deepEqual(page.problems, []);
    assert.deepEqual(errorLines(fresh), []);
  } finally {
    await fresh.stop();
  }
});

test('the server logged no error while this file ran', () => {
  assert.deepEqual(errorLines(server), []);
});
