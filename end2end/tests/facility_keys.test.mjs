// Facility keys end to end (issue: facility API keys): paste a key made through the sandbox's
// admin API on Integrations, watch the panel fill in, Update Key, see Facility Management healthy;
// regenerate the key in the sandbox, "Revalidate now", see the rows red and the banner; paste the
// new key, healthy again. Then the same on a touch tablet, a partially permitted non-owner key
// (confirmation and override), and a leak check: no plaintext key in the database files, the
// server's logs, any page or any response the browser received.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, DEBUG_LOGS, LeakCheck, startServer, launchBrowser, newPage, hydrated, signIn, sandboxApi, sandboxEmployee, errorLines, failOnCspViolations } from './support.mjs';

failOnCspViolations();

const RETAIL = 'C10-0000774-LIC';
const DISTRIBUTION = 'C11-0000349-LIC';
const CULTIVATION = 'CCL19-0004821';
const MICRO = 'C12-0000321-LIC';
const LAB = 'C8-0000042-LIC';

let server;
let browser;
const leaks = new LeakCheck();
const keys = leaks.keys;

before(async () => {
  server = await startServer(DEBUG_LOGS);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** An admin page that records every response body and page it sees. */
async function adminPage(options) {
  const page = await newPage(browser, options);
  leaks.watch(page);
  await signIn(page, server.base, ADMIN);
  await page.getByRole('heading', { name: `Welcome, ${ADMIN.name}` }).waitFor();
  return page;
}

async function openIntegrations(page) {
  await page.goto(`${server.base}/admin/integrations`);
  await hydrated(page);
  await page.getByRole('heading', { level: 1, name: 'Integrations' }).waitFor();
}

function keyBox(page) {
  return page.getByPlaceholder('Paste your API key here...');
}

function gridRow(page, license) {
  return page.locator('.validation-grid tbody tr', { hasText: license });
}

function verdict(page) {
  return page.locator('.verdict');
}

async function waitForVerdict(page, text) {
  await page.locator('.verdict', { hasText: text }).waitFor({ timeout: 20_000 });
}

function updateKey(page) {
  return page.getByRole('button', { name: 'Update Key', exact: true });
}

async function openFacilities(page) {
  await page.goto(`${server.base}/admin/facilities`);
  await hydrated(page);
  await page.getByRole('heading', { level: 1, name: 'Facility Management' }).waitFor();
}

function facilityRow(page, license) {
  return page.locator('table.facilities tbody tr', { hasText: license });
}

test('paste a key, watch it validated, Update Key; regenerate, revalidate, red; new key, healthy', async () => {
  const owner = await sandboxEmployee(server, { name: 'Olivia Owner', licenses: [RETAIL, DISTRIBUTION, CULTIVATION] });
  keys.push(owner.api_key);
  const page = await adminPage();
  await openIntegrations(page);
  await page.getByText('Where do I find my Metrc API key?').click();
  await page.getByText('Generating a new key in Metrc invalidates the one in use').waitFor();

  await keyBox(page).fill(owner.api_key);
  await waitForVerdict(page, 'Key valid: it reaches 3 facilities');
  await leaks.snapshot(page);
  // Every cell came in; the distribution license has no plants, which is expected, not red.
  for (const license of [RETAIL, DISTRIBUTION, CULTIVATION]) {
    const row = gridRow(page, license);
    assert.equal(await row.getByText('Checking', { exact: true }).count(), 0, license);
    assert.equal(await row.getByText('Denied', { exact: true }).count(), 0, license);
    assert.ok(await row.getByText('Granted', { exact: true }).count() > 0, license);
    assert.ok(await row.getByText('New', { exact: true }).count() === 1, `${license} marked New`);
  }
  assert.ok(await gridRow(page, DISTRIBUTION).getByText('Not available for this license type').count() >= 3);

  // Nothing selected: Update Key is off. Select all: valid for 3 of 3.
  assert.equal(await updateKey(page).isDisabled(), true);
  await page.getByRole('checkbox', { name: 'Select all' }).check();
  for (const license of [RETAIL, DISTRIBUTION, CULTIVATION]) {
    assert.equal(await page.getByRole('checkbox', { name: license }).isChecked(), true, license);
  }
  await waitForVerdict(page, 'Key valid for 3 of 3 selected facilities.');
  await updateKey(page).click();
  await page.getByText(`Key updated for`).waitFor();
  assert.equal(await keyBox(page).inputValue(), '');
  await leaks.snapshot(page);

  await openFacilities(page);
  const last4 = owner.api_key.slice(-4);
  for (const license of [RETAIL, DISTRIBUTION, CULTIVATION]) {
    const row = facilityRow(page, license);
    await row.getByText('Valid', { exact: true }).waitFor();
    assert.equal(await row.locator('.masked-key').textContent(), `••••${last4}`);
    assert.equal(await row.getAttribute('class').then((c) => (c ?? '').includes('row-invalid')), false);
  }
  assert.equal(await page.getByRole('alert').count(), 0, 'no banner while keys are healthy');
  await leaks.snapshot(page);

  // Search by part of a license number (server-side, in the address): that facility alone.
  await page.getByLabel('Facility or license number').fill('0774');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForURL(/[?&]search=0774/);
  // The pager and the rows come in together: one match.
  await page.getByText(/^Page 1 of 1 \(1 /).waitFor();
  assert.equal(await page.locator('table.facilities tbody tr').count(), 1);
  await facilityRow(page, RETAIL).waitFor();
  await openFacilities(page);

  // The License Owner regenerates the key in Metrc: the stored one is dead.
  const regenerated = await sandboxApi(server, 'POST', `/sandbox/employees/${owner.id}/regenerate-key`);
  keys.push(regenerated.api_key);
  // Revalidating one facility judges the key: every facility holding it turns red.
  await page.getByRole('button', { name: `Revalidate now: ${RETAIL}` }).click();
  for (const license of [RETAIL, DISTRIBUTION, CULTIVATION]) {
    const red = page.locator('table.facilities tbody tr.row-invalid', { hasText: license });
    await red.waitFor();
    await red.getByText('Key invalid: data no longer syncs with Metrc').waitFor();
  }
  const banner = page.getByRole('alert').filter({ hasText: 'invalid Metrc key' });
  await banner.waitFor();
  assert.match(await banner.textContent(), new RegExp(`3 facilities have an invalid Metrc key: data no longer syncs with Metrc for ${RETAIL}, ${DISTRIBUTION}, ${CULTIVATION}`));
  await leaks.snapshot(page);

  // The banner shows on every admin page.
  await page.goto(`${server.base}/admin/users`);
  await hydrated(page);
  await page.getByRole('alert').filter({ hasText: 'invalid Metrc key' }).waitFor();

  // Paste the new key for all three: healthy again.
  await openIntegrations(page);
  await keyBox(page).fill(regenerated.api_key);
  await waitForVerdict(page, 'Key valid: it reaches 3 facilities');
  assert.equal(await gridRow(page, RETAIL).getByText('New', { exact: true }).count(), 0, 'known now');
  await page.getByRole('checkbox', { name: 'Select all' }).check();
  await updateKey(page).click();
  await page.getByText('Key updated for').waitFor();
  await openFacilities(page);
  for (const license of [RETAIL, DISTRIBUTION, CULTIVATION]) {
    const row = facilityRow(page, license);
    await row.getByText('Valid', { exact: true }).waitFor();
    assert.equal(await row.locator('.masked-key').textContent(), `••••${regenerated.api_key.slice(-4)}`);
  }
  assert.equal(await page.locator('tr.row-invalid').count(), 0);
  assert.equal(await page.getByRole('alert').count(), 0);
  await leaks.snapshot(page);
  assert.deepEqual(page.problems, []);
});

test('on a touch tablet: targets of 44 px, no sideways scrolling, the same flow by tapping', async () => {
  const owner = await sandboxEmployee(server, { name: 'Tara Tablet', licenses: [MICRO] });
  keys.push(owner.api_key);
  const page = await adminPage({ viewport: { width: 768, height: 1024 }, hasTouch: true, isMobile: true });
  await openIntegrations(page);
  await keyBox(page).tap();
  await keyBox(page).fill(owner.api_key);
  await waitForVerdict(page, 'Key valid: it reaches 1 facility');
  // Licenses Tracekeeper knows but this key does not reach cannot be picked.
  assert.equal(await page.getByRole('checkbox', { name: RETAIL }).isDisabled(), true);
  await page.getByText('Not reached by this key').first().waitFor();
  const micro = page.getByRole('checkbox', { name: MICRO });
  for (const target of [keyBox(page), updateKey(page), page.locator('label.choice', { hasText: MICRO }), page.getByText('Where do I find my Metrc API key?')]) {
    const box = await target.boundingBox();
    assert.ok(box.height >= 44, `height ${box.height}`);
  }
  await page.locator('label.choice', { hasText: MICRO }).tap();
  assert.equal(await micro.isChecked(), true);
  let overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `Integrations is ${overflow}px wider than the viewport`);
  await updateKey(page).tap();
  await page.getByText('Key updated for').waitFor();

  await openFacilities(page);
  await facilityRow(page, MICRO).getByText('Valid', { exact: true }).waitFor();
  const revalidate = page.getByRole('button', { name: `Revalidate now: ${MICRO}` });
  assert.ok((await revalidate.boundingBox()).height >= 44);
  overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `Facility Management is ${overflow}px wider than the viewport`);
  await leaks.snapshot(page);
  assert.deepEqual(page.problems, []);
});

test('a partially permitted key that is not the License Owner\'s needs the override and a confirmation', async () => {
  const staff = await sandboxEmployee(server, { name: 'Sam Staff', licenses: [LAB], ownerOf: [], sections: ['Packages', 'Items'] });
  keys.push(staff.api_key);
  const page = await adminPage();
  await openIntegrations(page);
  await keyBox(page).fill(staff.api_key);
  await waitForVerdict(page, 'Key valid: it reaches 1 facility');
  const row = gridRow(page, LAB);
  assert.ok(await row.getByText('Denied', { exact: true }).count() > 0);
  await row.getByText('Not the License Owner').waitFor();
  await page.getByText('Likely cause: the key owner lacks Manage access').waitFor();

  await page.getByRole('checkbox', { name: LAB }).check();
  await waitForVerdict(page, `This key is not the License Owner's for ${LAB}`);
  assert.equal(await updateKey(page).isDisabled(), true, 'the override is required first');
  await page.getByRole('checkbox', { name: /Use this key anyway/ }).check();
  await updateKey(page).click();
  const confirm = page.getByRole('alertdialog');
  await confirm.getByText('Some sections are denied for this key').waitFor();
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await page.getByRole('alertdialog').count(), 0);
  await updateKey(page).click();
  await page.getByRole('button', { name: 'Update Key anyway' }).click();
  await page.getByText('Key updated for').waitFor();

  await openFacilities(page);
  await facilityRow(page, LAB).getByText("Not the License Owner's key").waitFor();
  assert.deepEqual(page.problems, []);
});

test('a refused key says why, and no plaintext key is anywhere: database files, logs, pages, responses', async () => {
  const page = await adminPage();
  await openIntegrations(page);
  await keyBox(page).fill('notARealMetrcKey1234');
  await waitForVerdict(page, 'Key invalid.');
  assert.match(await verdict(page).textContent(), /mistyped, revoked or regenerated/);
  assert.equal(await updateKey(page).isDisabled(), true);
  await page.getByRole('button', { name: 'Retry' }).waitFor();
  await page.close();

  await leaks.assertNoLeak(server, assert);
});

test('the server logged no error while this file ran', () => {
  assert.deepEqual(errorLines(server), []);
});
