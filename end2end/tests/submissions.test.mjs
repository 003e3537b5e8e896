// Submissions end to end (issue: submissions and sync): the facility syncs its packages from the
// sandbox; an employee with their own key adjusts a package: "User key", "Compliant", "Accepted",
// and the sandbox's package quantity changed; an employee without a key is warned, confirms, and
// the row says "Facility key (<owner>)", "Not compliant"; a 400 shows Metrc's message; the CSV
// export holds the filtered rows; the detail redacts keys, and no key leaks anywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, EMPLOYEE, DEBUG_LOGS, LeakCheck, startServer, launchBrowser, newPage, hydrated, signIn, sandboxApi, sandboxEmployee, errorLines, failOnCspViolations } from './support.mjs';

failOnCspViolations();

const RETAIL = 'C10-0000774-LIC';
const KEYLESS = { email: 'kim@example.test', password: 'kim-e2e-password', name: 'Kim Keyless' };
const OWNER = 'Olivia Owner';

let server;
let browser;
let label;
const leaks = new LeakCheck();

before(async () => {
  server = await startServer(DEBUG_LOGS);
  server.createUser(KEYLESS);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signedIn(who, options = {}) {
  const page = await newPage(browser, options);
  leaks.watch(page);
  await signIn(page, server.base, who);
  await page.getByRole('heading', { name: `Welcome, ${who.name}` }).waitFor();
  return page;
}

/** Calls a server function from the page, with the page's session. */
function call(page, endpoint, body, json = true) {
  return page.evaluate(async ({ endpoint, body, json }) => {
    const r = await fetch(`/api/${endpoint}`, {
      method: 'POST',
      headers: { 'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: json ? JSON.stringify(body) : new URLSearchParams(body).toString(),
    });
    return { status: r.status, body: await r.text() };
  }, { endpoint, body, json });
}

async function sandboxQuantity(packageLabel) {
  const p = await sandboxApi(server, 'GET', `/sandbox/licenses/${RETAIL}/packages/${encodeURIComponent(packageLabel)}`);
  return p.Quantity;
}

/** Opens "Adjust" for the package and submits `quantity` with the first reason that needs no note. */
async function adjust(page, quantity, { confirm = false } = {}) {
  await page.goto(`${server.base}/inventory/packages?label=${encodeURIComponent(label)}`);
  await hydrated(page);
  await page.getByRole('button', { name: `Adjust: ${label}` }).click();
  const panel = page.locator('.action-panel');
  await panel.getByRole('spinbutton', { name: /^Quantity/ }).fill(String(quantity));
  await panel.getByRole('combobox', { name: /^Reason/ }).selectOption({ label: 'Drying' });
  if (confirm) {
    await panel.getByText('You have no Metrc API key').waitFor();
    assert.equal(await panel.getByRole('button', { name: 'Submit to Metrc' }).isDisabled(), true, 'confirmation first');
    await panel.getByLabel('I understand, submit anyway').check();
  }
  await panel.getByRole('button', { name: 'Submit to Metrc' }).click();
  await panel.getByText('Submission stored').waitFor();
}

function mySubmission(page, status) {
  return page.locator('.my-submissions tbody tr').filter({ hasText: status }).first();
}

test('the facility syncs; an employee with their own key adjusts a package: User key, Compliant, Accepted', async () => {
  const owner = await sandboxEmployee(server, { name: OWNER, licenses: [RETAIL] });
  const erin = await sandboxEmployee(server, { name: EMPLOYEE.name, licenses: [RETAIL], ownerOf: [], sections: ['Packages'] });
  leaks.keys.push(owner.api_key, erin.api_key);
  const admin = await signedIn(ADMIN);
  const assigned = await call(admin, 'assign_facility_key', { input: { key: owner.api_key, licenses: [RETAIL], confirm_not_owner: false } });
  assert.equal(assigned.status, 200, assigned.body);
  const synced = await call(admin, 'sync_now', { license: RETAIL }, false);
  assert.equal(synced.status, 200, synced.body);

  const page = await signedIn(EMPLOYEE);
  const keyed = await call(page, 'set_user_key', { input: { user_id: null, key: erin.api_key, confirm_facility_key: false } });
  assert.equal(keyed.status, 200, keyed.body);
  // Packages appear once the sync has stored them.
  for (let i = 0; i < 60; i++) {
    await page.goto(`${server.base}/inventory/packages?license=${RETAIL}`);
    await hydrated(page);
    if (await page.locator('table.packages tbody tr').count() > 0) break;
    await page.waitForTimeout(500);
  }
  label = (await page.locator('table.packages tbody tr th code').first().textContent()).trim();
  const before = await sandboxQuantity(label);

  await adjust(page, -1);
  const row = mySubmission(page, 'Accepted');
  await row.waitFor({ timeout: 30_000 });
  await row.getByText('User key').waitFor();
  await row.getByText('Compliant', { exact: true }).waitFor();
  assert.equal(await sandboxQuantity(label), before - 1);
  // Metrc attributes the write to Erin: her key carried it.
  const log = await sandboxApi(server, 'GET', '/sandbox/requests');
  const write = log.filter((r) => r.method === 'POST' && r.path.startsWith('/packages/v2/adjust')).at(-1);
  assert.equal(write.employee_name, EMPLOYEE.name);
  assert.deepEqual(page.problems, []);
});

test('an employee without a key is warned, confirms, and it goes under the facility key owner\'s name', async () => {
  const page = await signedIn(KEYLESS);
  await adjust(page, -1, { confirm: true });
  const row = mySubmission(page, 'Accepted');
  await row.waitFor({ timeout: 30_000 });
  await row.getByText(`Facility key (${OWNER})`).waitFor();
  await row.getByText('Not compliant').waitFor();
  assert.deepEqual(page.problems, []);
});

test('Metrc\'s 400 message reaches the user, and Metrc Submissions filters and exports', async () => {
  const page = await signedIn(EMPLOYEE);
  await adjust(page, -1_000_000);
  const row = mySubmission(page, 'Rejected');
  await row.waitFor({ timeout: 30_000 });
  await row.getByText('cannot be adjusted below zero').waitFor();

  const admin = await signedIn(ADMIN);
  await admin.goto(`${server.base}/admin/metrc-submissions/all`);
  await hydrated(admin);
  await admin.getByRole('heading', { level: 1, name: 'Metrc Submissions' }).waitFor();
  assert.equal(await admin.locator('table.submissions tbody tr').count(), 3);
  await admin.getByLabel('Compliance').selectOption({ label: 'Not compliant' });
  await admin.getByRole('button', { name: 'Apply filters' }).click();
  await admin.waitForURL(/compliant=no/);
  await admin.locator('table.submissions tbody tr').first().getByText(KEYLESS.name).waitFor();
  assert.equal(await admin.locator('table.submissions tbody tr').count(), 1);

  const href = await admin.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
  assert.match(href, /compliant=no/);
  const csv = await admin.evaluate(async (href) => (await fetch(href)).text(), href);
  const lines = csv.trim().split(/\r?\n/);
  assert.equal(lines.length, 2, csv);
  assert.match(lines[1], new RegExp(KEYLESS.name));
  assert.match(lines[1], /Not compliant/);

  // A row opens its detail, with Metrc's answer and the attempts.
  await admin.goto(`${server.base}/admin/metrc-submissions/failed`);
  await hydrated(admin);
  await admin.locator('table.submissions tbody tr a.row-link').first().click();
  await admin.getByRole('heading', { name: /Adjust package/ }).waitFor();
  await admin.getByText('cannot be adjusted below zero').first().waitFor();
  await leaks.snapshot(admin);
  assert.deepEqual(admin.problems, []);
});

/** A tablet in portrait, used by touch. */
const TABLET = { viewport: { width: 768, height: 1024 }, hasTouch: true, isMobile: true };

/** Asserts that `screen` scrolls sideways nowhere (neither the page nor a table inside it) and
 *  that each of `targets` is a 44 px touch target inside the viewport's width. */
async function fitsTheWidth(page, screen, targets) {
  const overflow = await page.evaluate(() => Math.max(
    document.documentElement.scrollWidth - window.innerWidth,
    ...[...document.querySelectorAll('.table-wrap')].map((w) => w.scrollWidth - w.clientWidth),
  ));
  assert.ok(overflow <= 0, `${screen} scrolls sideways by ${overflow}px`);
  const width = page.viewportSize().width;
  for (const target of targets) {
    const box = await target.boundingBox();
    assert.ok(box, `${screen}: ${target} is not shown`);
    assert.ok(box.x >= 0 && box.x + box.width <= width, `${screen}: ${target} spans ${box.x}..${box.x + box.width}px of ${width}`);
    assert.ok(box.height >= 44, `${screen}: ${target} is ${box.height}px high`);
  }
}

test('on a tablet in portrait every list shows each record and its actions without sideways scrolling', async () => {
  const page = await signedIn(EMPLOYEE, TABLET);
  await page.goto(`${server.base}/inventory/packages?license=${RETAIL}`);
  await hydrated(page);
  const actions = ['Adjust', 'Finish', 'Change location'].map((a) => page.getByRole('button', { name: `${a}: ${label}` }));
  await fitsTheWidth(page, 'Packages', actions);
  await actions[0].tap();
  const panel = page.locator('.action-panel');
  await fitsTheWidth(page, 'Packages with the Adjust form open', [panel.getByRole('button', { name: 'Submit to Metrc' })]);

  const admin = await signedIn(ADMIN, TABLET);
  const screens = [
    ['/admin/facilities', 'Facility Management', [
      admin.getByRole('button', { name: `Sync now: ${RETAIL}` }),
      admin.getByRole('button', { name: `Revalidate now: ${RETAIL}` }),
    ]],
    ['/admin/users', 'User Management', [admin.getByRole('link', { name: EMPLOYEE.name })]],
    ['/admin/metrc-submissions/all', 'Metrc Submissions', [admin.locator('table.submissions tbody tr a.row-link').first()]],
  ];
  for (const [path, screen, targets] of screens) {
    await admin.goto(`${server.base}${path}`);
    await hydrated(admin);
    await fitsTheWidth(admin, screen, targets);
  }
  assert.deepEqual(page.problems, []);
  assert.deepEqual(admin.problems, []);
});

test('no plaintext key in submission pages, their responses, the logs or the data files', async () => {
  await leaks.assertNoLeak(server, assert);
});

test('the server logged no error while this file ran', () => {
  assert.deepEqual(errorLines(server), []);
});
