// User keys end to end (issue: user keys): an admin adds a user, opens their page, pastes a key
// made through the sandbox's admin API, "Update", sees the panel, the permissions and the row
// "Assigned"; the page has no "Update Key"; the same key pasted on Integrations cannot become a
// facility key (the page says why, the server refuses it); an employee sets their own key on
// /profile. No plaintext key anywhere afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN, EMPLOYEE, DEBUG_LOGS, LeakCheck, startServer, launchBrowser, newPage, hydrated, signIn,
  sandboxEmployee, errorLines, failOnCspViolations,
} from './support.mjs';

failOnCspViolations();

const RETAIL = 'C10-0000774-LIC';
const NEW_USER = { name: 'Uma User', email: 'uma@example.test', password: 'uma-initial-password' };

let server;
let browser;
const leaks = new LeakCheck();

before(async () => {
  server = await startServer(DEBUG_LOGS);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signedIn(who, options) {
  const page = await newPage(browser, options);
  leaks.watch(page);
  await signIn(page, server.base, who);
  await page.getByRole('heading', { name: `Welcome, ${who.name}` }).waitFor();
  return page;
}

/** Calls a JSON server function with the signed-in browser's session, outside the page (so a
 *  deliberate refusal is not one of the page's own console errors), with the `Origin` the page
 *  would send (the server refuses a POST that has neither it nor `Sec-Fetch-Site`). */
async function callJson(page, endpoint, input) {
  const r = await page.request.post(`${server.base}/api/${endpoint}`, {
    headers: { accept: 'application/json', origin: server.base },
    data: { input },
  });
  return { status: r.status(), body: await r.text() };
}

/** The key field (the section around it is labelled "Metrc API Key" too). */
function keyField(page) {
  return page.locator('input').and(page.getByLabel('Metrc API Key', { exact: true }));
}

async function pasteUserKey(page, key) {
  await keyField(page).fill(key);
  await page.locator('.verdict', { hasText: 'Key valid: it reaches' }).waitFor({ timeout: 20_000 });
}

test('an admin adds a user and sets their key; it cannot become a facility key', async () => {
  const owner = await sandboxEmployee(server, { name: 'Olivia Owner', licenses: [RETAIL] });
  const uma = await sandboxEmployee(server, { name: NEW_USER.name, licenses: [RETAIL], ownerOf: [], sections: ['View Packages'] });
  leaks.keys.push(owner.api_key, uma.api_key);
  const page = await signedIn(ADMIN);
  // The facility key, so the user's exact permissions can be listed.
  const assigned = await callJson(page, 'assign_facility_key', { key: owner.api_key, licenses: [RETAIL], confirm_not_owner: false });
  assert.equal(assigned.status, 200, assigned.body);

  await page.goto(`${server.base}/admin/users`);
  await hydrated(page);
  await page.getByRole('link', { name: 'Add user' }).click();
  await page.getByLabel('Name', { exact: true }).fill(NEW_USER.name);
  await page.getByLabel('Email', { exact: true }).fill(NEW_USER.email);
  await page.getByLabel('Role', { exact: true }).selectOption({ label: 'Employee' });
  await page.getByLabel('Can submit to Metrc').check();
  await page.getByLabel('Initial password').fill(NEW_USER.password);
  await page.getByRole('button', { name: 'Add user' }).click();
  await page.getByRole('heading', { level: 1, name: NEW_USER.name }).waitFor();
  await hydrated(page);
  assert.equal(await page.getByRole('button', { name: /Update Key/ }).count(), 0, 'no Update Key on a user page');

  await pasteUserKey(page, uma.api_key);
  await page.getByRole('button', { name: 'Update', exact: true }).click();
  await page.getByText('Key saved: Metrc accepted it.').waitFor();
  assert.equal(await keyField(page).inputValue(), '');
  await page.locator('.masked-key', { hasText: `••••${uma.api_key.slice(-4)}` }).waitFor();
  await page.locator('.validation-grid tbody tr', { hasText: RETAIL }).waitFor();
  await page.getByText('Can view packages but not adjust them: lacks Manage Packages Inventory.').waitFor();
  assert.equal(await page.getByRole('button', { name: /Update Key/ }).count(), 0, 'still no Update Key');
  await leaks.snapshot(page);

  await page.goto(`${server.base}/admin/users`);
  await hydrated(page);
  const row = page.locator('tbody tr', { hasText: NEW_USER.email });
  await row.getByText('Assigned').waitFor();

  // On Integrations the same key is named for what it is, and Update Key stays off...
  await page.goto(`${server.base}/admin/integrations`);
  await hydrated(page);
  await page.getByPlaceholder('Paste your API key here...').fill(uma.api_key);
  await page.locator('.verdict', { hasText: "This is a user's own Metrc key" }).waitFor({ timeout: 20_000 });
  await page.getByRole('checkbox', { name: RETAIL }).check();
  assert.equal(await page.getByRole('button', { name: 'Update Key', exact: true }).isDisabled(), true);
  // ...and the server refuses it with the reason even when asked directly.
  const refused = await callJson(page, 'assign_facility_key', { key: uma.api_key, licenses: [RETAIL], confirm_not_owner: true });
  assert.equal(refused.status >= 400, true);
  assert.match(refused.body, /user's own Metrc key/);
  await leaks.snapshot(page);
  assert.deepEqual(page.problems, []);
});

test('an employee sets their own key on their profile, on a tablet', async () => {
  const erin = await sandboxEmployee(server, { name: EMPLOYEE.name, licenses: [RETAIL], ownerOf: [], sections: ['Packages'] });
  leaks.keys.push(erin.api_key);
  const page = await signedIn(EMPLOYEE, { viewport: { width: 768, height: 1024 }, hasTouch: true, isMobile: true });
  await page.goto(`${server.base}/profile`);
  await hydrated(page);
  await page.getByRole('heading', { level: 1, name: 'Profile' }).waitFor();
  assert.equal(await page.getByRole('button', { name: /Update Key/ }).count(), 0);
  await pasteUserKey(page, erin.api_key);
  const update = page.getByRole('button', { name: 'Update', exact: true });
  assert.ok((await update.boundingBox()).height >= 44);
  await update.tap();
  await page.getByText('Key saved: Metrc accepted it.').waitFor();
  await page.locator('.masked-key', { hasText: `••••${erin.api_key.slice(-4)}` }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `Profile is ${overflow}px wider than the viewport`);
  await leaks.snapshot(page);
  assert.deepEqual(page.problems, []);
});

test('no plaintext user or facility key anywhere: database files, logs, pages, responses', async () => {
  await leaks.assertNoLeak(server, assert);
});

test('the server logged no error while this file ran', () => {
  assert.deepEqual(errorLines(server), []);
});
