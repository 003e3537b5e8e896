// Several states in one deployment (issue 17): California's and Colorado's Metrc, each an embedded
// sandbox of its own with its own licenses and keys. On Integrations the admin picks the state
// whose Metrc issued a key, connects a facility in each state with that state's License Owner's
// key, and is told when a key is another state's; Facility Management shows each facility's
// state; on Erin's page the admin gives her a key per state. Erin adjusts a package in each state,
// each sent compliantly with her own key of that state, to that state's Metrc; Metrc Submissions
// filters by state. No plaintext key anywhere afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN, EMPLOYEE, DEBUG_LOGS, LeakCheck, startServer, launchBrowser, newPage, hydrated, signIn,
  sandboxApi, sandboxEmployee, errorLines, failOnCspViolations,
} from './support.mjs';

failOnCspViolations();

/** The two states served, their names as the screens give them, and each one's demo retail
 *  store (`metrc/src/sandbox/seed.rs`). */
const STATES = ['CA', 'CO'];
const NAME = { CA: 'California', CO: 'Colorado' };
const RETAIL = { CA: 'C10-0000774-LIC', CO: '402R-00847' };
/** The demo License Owner of every demo license, in each state's Metrc with a key of its own. */
const DEMO_OWNER = 'Dana Whitfield';

let server;
let browser;
const leaks = new LeakCheck();
/** Per state: the License Owner's key (a facility key) and Erin's own key. */
const ownerKeys = {};
const erinKeys = {};

before(async () => {
  server = await startServer({
    ...DEBUG_LOGS,
    TRACEKEEPER_SANDBOX_STATES: STATES.join(','),
    // The admin validates about ten keys within a minute here (two states, wrong state included),
    // more than a user's default burst of six: a person would wait and press Retry.
    TRACEKEEPER_KEY_VALIDATIONS_PER_MINUTE: '60',
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** `state`'s sandbox, for the admin API helpers of support.mjs. */
function sandboxOf(state) {
  return { sandbox: server.sandboxes[state] };
}

async function signedIn(who, options) {
  const page = await newPage(browser, options);
  leaks.watch(page);
  await signIn(page, server.base, who);
  await page.getByRole('heading', { name: `Welcome, ${who.name}` }).waitFor();
  return page;
}

/** Opens `path` and waits for the app to hydrate and its heading to show. */
async function open(page, path, heading) {
  await page.goto(`${server.base}${path}`);
  await hydrated(page);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

/** Waits for the validation panel's verdict to say `text`; when it does not, says what it says. */
async function waitForVerdict(page, text) {
  try {
    await page.locator('.verdict', { hasText: text }).waitFor({ timeout: 20_000 });
  } catch (error) {
    const shown = await page.locator('.verdict').innerText({ timeout: 1_000 }).catch((e) => `(no verdict: ${e.message})`);
    throw new Error(`${error.message}\nThe verdict says: ${shown}`);
  }
}

/** The options of `select`, as shown. */
async function optionTexts(select) {
  return (await select.locator('option').allTextContents()).map((t) => t.trim());
}

/** The "State" select of a filter form (its name goes on with the chosen option's text). */
function stateFilter(page) {
  return page.getByRole('combobox', { name: /^State\b/ });
}

function facilityRow(page, license) {
  return page.locator('table.facilities tbody tr', { hasText: license });
}

/** The user-key box, labelled with its state ("Colorado Metrc API Key"). */
function userKeyField(page, state) {
  return page.locator('input').and(page.getByLabel(`${NAME[state]} Metrc API Key`, { exact: true }));
}

/** Waits until the submissions table shows the submission at `license` alone (the rows of the
 *  previous filter stay until the new ones come in); returns its row. */
async function onlySubmissionOf(page, license) {
  const rows = page.locator('table.submissions tbody tr');
  for (const other of Object.values(RETAIL).filter((l) => l !== license)) {
    await rows.filter({ hasText: other }).first().waitFor({ state: 'detached' });
  }
  await rows.filter({ hasText: license }).first().waitFor();
  assert.equal(await rows.count(), 1, `only ${license}'s submission`);
  return rows.first();
}

test('the admin connects a facility in each state with that state\'s key, sees their states, and gives Erin a key per state', async () => {
  // Each state's Metrc is a sandbox of its own, with the same demo people under other keys.
  assert.deepEqual(Object.keys(server.sandboxes).sort(), STATES);
  assert.notEqual(server.sandboxes.CA, server.sandboxes.CO);
  assert.equal(server.sandbox, server.sandboxes.CA, 'the first state\'s sandbox');
  for (const state of STATES) {
    const employees = await sandboxApi(sandboxOf(state), 'GET', '/sandbox/employees');
    ownerKeys[state] = employees.find((e) => e.name === DEMO_OWNER).api_key;
    // Erin has a Metrc account in each state, allowed to work on packages at its retail store.
    erinKeys[state] = (await sandboxEmployee(sandboxOf(state), {
      name: EMPLOYEE.name, licenses: [RETAIL[state]], ownerOf: [], sections: ['Packages'],
    })).api_key;
  }
  assert.notEqual(ownerKeys.CA, ownerKeys.CO);
  leaks.keys.push(...Object.values(ownerKeys), ...Object.values(erinKeys));

  const page = await signedIn(ADMIN);
  await open(page, '/admin/integrations', 'Integrations');
  // The state must be picked: nothing is preselected.
  const state = page.getByLabel('State whose Metrc issued this key', { exact: true });
  await state.waitFor();
  assert.equal(await state.evaluate((s) => s.required), true);
  assert.equal(await state.inputValue(), '');
  assert.deepEqual(await optionTexts(state), ['Choose a state', 'California (CA)', 'Colorado (CO)']);
  const keyBox = page.getByPlaceholder('Paste your API key here...');
  const updateKey = page.getByRole('button', { name: 'Update Key', exact: true });

  // California, with California's License Owner's key: its licenses, each new and in CA.
  await state.selectOption({ label: 'California (CA)' });
  await keyBox.fill(ownerKeys.CA);
  await waitForVerdict(page, 'Key valid: it reaches 6 facilities');
  await page.locator('.validation-grid tbody tr', { hasText: RETAIL.CA }).getByText('Granted', { exact: true }).first().waitFor();
  const caRetail = page.locator('label.choice', { hasText: RETAIL.CA });
  await caRetail.locator('.badge-state', { hasText: 'CA' }).waitFor();
  await caRetail.getByText('New', { exact: true }).waitFor();
  await page.getByRole('checkbox', { name: RETAIL.CA }).check();
  await waitForVerdict(page, 'Key valid for 1 of 1 selected facility.');
  await updateKey.click();
  await page.getByText(`Key updated for ${RETAIL.CA}.`).waitFor();
  assert.equal(await keyBox.inputValue(), '');
  await leaks.snapshot(page);

  // Colorado's key with California still picked: California's Metrc refuses it, and the page
  // says whose it is.
  assert.equal(await state.inputValue(), 'CA');
  await keyBox.fill(ownerKeys.CO);
  await waitForVerdict(page, "Key invalid. This key belongs to Colorado's Metrc, not California's");
  assert.equal(await updateKey.isDisabled(), true);

  // Picking Colorado checks the same key again, with Colorado's Metrc.
  await state.selectOption({ label: 'Colorado (CO)' });
  await waitForVerdict(page, 'Key valid: it reaches 6 facilities');
  // California's facility cannot be given Colorado's key.
  assert.equal(await page.getByRole('checkbox', { name: RETAIL.CA }).isDisabled(), true);
  await page.locator('label.choice', { hasText: RETAIL.CA }).getByText("In California: this key is Colorado's.").waitFor();
  await page.locator('label.choice', { hasText: RETAIL.CO }).locator('.badge-state', { hasText: 'CO' }).waitFor();
  await page.getByRole('checkbox', { name: RETAIL.CO }).check();
  await waitForVerdict(page, 'Key valid for 1 of 1 selected facility.');
  await updateKey.click();
  await page.getByText(`Key updated for ${RETAIL.CO}.`).waitFor();
  await leaks.snapshot(page);

  // Facility Management: both, each with its state and its own state's key.
  await open(page, '/admin/facilities', 'Facility Management');
  await page.getByRole('columnheader', { name: 'State', exact: true }).waitFor();
  for (const code of STATES) {
    const row = facilityRow(page, RETAIL[code]);
    await row.getByText('Valid', { exact: true }).waitFor();
    const cell = row.locator('td[data-label="State"] abbr');
    assert.equal(await cell.textContent(), code);
    assert.equal(await cell.getAttribute('title'), NAME[code]);
    assert.equal(await row.locator('.masked-key').textContent(), `••••${ownerKeys[code].slice(-4)}`);
  }
  assert.equal(await page.locator('table.facilities tbody tr').count(), 2);
  // Each syncs from its own state's Metrc (a scheduled run may have started it already).
  for (const code of STATES) {
    const sync = page.getByRole('button', { name: `Sync now: ${RETAIL[code]}` });
    if (await sync.isEnabled()) await sync.click();
  }
  for (const code of STATES) {
    await facilityRow(page, RETAIL[code]).getByText('Up to date', { exact: true }).waitFor({ timeout: 60_000 });
  }
  await leaks.snapshot(page);

  // User Management: Erin works in both states and has a key in neither.
  await open(page, '/admin/users', 'User Management');
  const erinRow = page.locator('tbody tr', { hasText: EMPLOYEE.email });
  const chips = erinRow.getByRole('list', { name: 'Metrc key by state' }).getByRole('listitem');
  await chips.first().waitFor();
  assert.deepEqual(await chips.allTextContents(), ['Missing in CA', 'Missing in CO']);
  await erinRow.getByRole('link', { name: EMPLOYEE.name }).click();
  await page.getByRole('heading', { level: 1, name: EMPLOYEE.name }).waitFor();
  await hydrated(page);

  // Her page opens on the first state missing a key; each state has a button of its own.
  // Named "California: Missing" (Chromium and Playwright put a space before the colon: the
  // visually hidden ": " is a block of its own).
  const stateButton = (code, status) => page.getByRole('button', { name: new RegExp(`^${NAME[code]} ?: ${status}$`) });
  await stateButton('CA', 'Missing').waitFor();
  await stateButton('CO', 'Missing').waitFor();
  assert.equal(await stateButton('CA', 'Missing').getAttribute('aria-pressed'), 'true');
  await page.getByRole('heading', { level: 3, name: 'California Metrc key' }).waitFor();
  // Her Colorado key pasted as her California one is named as Colorado's.
  await userKeyField(page, 'CA').fill(erinKeys.CO);
  await waitForVerdict(page, "This key belongs to Colorado's Metrc, not California's");
  const update = page.getByRole('button', { name: 'Update', exact: true });
  assert.equal(await update.isDisabled(), true);

  for (const code of STATES) {
    const missing = stateButton(code, 'Missing');
    if (await missing.getAttribute('aria-pressed') !== 'true') await missing.click();
    await page.getByRole('heading', { level: 3, name: `${NAME[code]} Metrc key` }).waitFor();
    await userKeyField(page, code).fill(erinKeys[code]);
    await waitForVerdict(page, 'Key valid: it reaches 1 facility.');
    await update.click();
    await page.getByText('Key saved: Metrc accepted it.').waitFor();
    await page.locator('.masked-key', { hasText: `••••${erinKeys[code].slice(-4)}` }).waitFor();
    await stateButton(code, 'Assigned').waitFor();
    await page.locator('.permissions tbody tr', { hasText: RETAIL[code] }).waitFor();
  }
  // Each state keeps its own key.
  await stateButton('CA', 'Assigned').click();
  await page.getByRole('heading', { level: 3, name: 'California Metrc key' }).waitFor();
  await page.locator('.masked-key', { hasText: `••••${erinKeys.CA.slice(-4)}` }).waitFor();
  await leaks.snapshot(page);

  await open(page, '/admin/users', 'User Management');
  await chips.first().waitFor();
  assert.deepEqual(await chips.allTextContents(), ['Assigned in CA', 'Assigned in CO']);
  assert.deepEqual(page.problems, []);
});

test('Erin adjusts a package in each state with her own key of that state; Metrc Submissions filters by state', async () => {
  assert.ok(erinKeys.CA && erinKeys.CO, 'the first test gave Erin her keys');
  const page = await signedIn(EMPLOYEE);
  for (const code of STATES) {
    const license = RETAIL[code];
    const before = (await sandboxApi(sandboxOf(code), 'GET', '/sandbox/requests')).length;
    await open(page, '/inventory/packages', 'Packages');
    assert.deepEqual(await optionTexts(stateFilter(page)), ['All states', 'California', 'Colorado']);
    await stateFilter(page).selectOption({ label: NAME[code] });
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL(new RegExp(`[?&]state=${code}(&|$)`));
    // The state's packages only, once the list has come in for the filter.
    const rows = page.locator('table.packages tbody tr');
    // Each row's facility carries its state ("402R-00847, CO").
    await page.waitForFunction((facility) => {
      const shown = [...document.querySelectorAll('table.packages tbody tr td[data-label="Facility"]')].map((td) => td.textContent.trim());
      return shown.length > 0 && shown.every((l) => l === facility);
    }, `${license}, ${code}`, { timeout: 15_000 });
    const label = (await rows.first().locator('th code').textContent()).trim();
    const quantity = async () => (await sandboxApi(sandboxOf(code), 'GET', `/sandbox/licenses/${license}/packages/${encodeURIComponent(label)}`)).Quantity;
    const was = await quantity();

    await page.getByRole('button', { name: `Adjust: ${label}` }).click();
    const panel = page.locator('.action-panel');
    await panel.getByRole('spinbutton', { name: /^Quantity/ }).fill('-1');
    await panel.getByRole('combobox', { name: /^Reason/ }).selectOption({ label: 'Drying' });
    await panel.getByRole('button', { name: 'Submit to Metrc' }).click();
    await panel.getByText('Submission stored').waitFor();
    const row = page.locator('.my-submissions tbody tr', { hasText: license }).filter({ hasText: 'Accepted' });
    await row.waitFor({ timeout: 30_000 });
    await row.getByText('User key', { exact: true }).waitFor();
    await row.getByText('Compliant', { exact: true }).waitFor();
    assert.equal(await row.locator('td[data-label="State"]').textContent(), code);

    // Sent to this state's Metrc, which attributes the write to Erin: her key carried it.
    assert.equal(await quantity(), was - 1);
    const writes = (await sandboxApi(sandboxOf(code), 'GET', '/sandbox/requests'))
      .slice(before)
      .filter((r) => r.method === 'POST' && r.path.startsWith('/packages/v2/adjust'));
    assert.equal(writes.length, 1, `one adjustment sent to ${NAME[code]}'s Metrc`);
    assert.equal(writes[0].license, license);
    assert.equal(writes[0].employee_name, EMPLOYEE.name);
  }
  // Neither state's Metrc was sent the other's write.
  for (const code of STATES) {
    const adjusted = (await sandboxApi(sandboxOf(code), 'GET', '/sandbox/requests'))
      .filter((r) => r.method === 'POST' && r.path.startsWith('/packages/v2/adjust'))
      .map((r) => r.license);
    assert.deepEqual(adjusted, [RETAIL[code]], `${NAME[code]}'s Metrc`);
  }
  await leaks.snapshot(page);
  assert.deepEqual(page.problems, []);

  const admin = await signedIn(ADMIN);
  await open(admin, '/admin/metrc-submissions/all', 'Metrc Submissions');
  await admin.getByRole('columnheader', { name: 'State', exact: true }).waitFor();
  const rows = admin.locator('table.submissions tbody tr');
  await rows.filter({ hasText: RETAIL.CO }).first().waitFor();
  assert.equal(await rows.count(), 2);
  assert.deepEqual(await optionTexts(stateFilter(admin)), ['All states', 'California', 'Colorado']);
  for (const code of ['CO', 'CA']) {
    await stateFilter(admin).selectOption({ label: NAME[code] });
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    await admin.waitForURL(new RegExp(`[?&]state=${code}(&|$)`));
    const row = await onlySubmissionOf(admin, RETAIL[code]);
    assert.equal(await row.locator('td[data-label="State"]').textContent(), code);
    await row.getByText(EMPLOYEE.name, { exact: true }).waitFor();
    await row.getByText('User key', { exact: true }).waitFor();
    await row.getByText('Compliant', { exact: true }).waitFor();
    // The filter is kept in the address and the form.
    assert.equal(await stateFilter(admin).inputValue(), code);
  }
  await leaks.snapshot(admin);
  assert.deepEqual(admin.problems, []);
});

test('no plaintext key of either state anywhere: database files, logs, pages, responses', async () => {
  await leaks.assertNoLeak(server, assert);
});

test('the server logged no error while this file ran', () => {
  assert.deepEqual(errorLines(server), []);
});
