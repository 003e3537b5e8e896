// Benchmark: time from pasting a facility key on Integrations to the complete validation panel,
// for a key that reaches 20 licenses with 100 ms Metrc latency on every call. Runs the release
// build (target/release/tracekeeper) with its embedded sandbox, in Debian's Chromium.
//
//   cd end2end && npm run bench:panel [-- LICENSES LATENCY_MS RUNS]
//
// Prints each run and the median. The floor is what Metrc's limits allow: one facilities call,
// then the probes at 150 per second per vendor key (docs/metrc.md §9), each taking the latency.
import { ADMIN, SECTIONS, startServer, launchBrowser, newPage, hydrated, signIn, sandboxApi, sandboxEmployee } from '../tests/support.mjs';

const [licenses = 20, latencyMs = 100, runs = 5] = process.argv.slice(2).map(Number);
const TYPES = ['Adult-Use Retail', 'Distributor', 'Adult-Use Cultivation', 'Manufacturer', 'Testing Laboratory', 'Microbusiness'];

const server = await startServer();
const browser = await launchBrowser();
try {
  const numbers = [];
  for (let i = 0; i < licenses; i++) {
    const number = `BENCH-${String(i + 1).padStart(4, '0')}-LIC`;
    await sandboxApi(server, 'POST', '/sandbox/licenses', {
      number, name: `Bench Facility ${i + 1}`, license_type: TYPES[i % TYPES.length], state: 'CA', packages: 1,
    });
    numbers.push(number);
  }
  const owner = await sandboxEmployee(server, { name: 'Bench Owner', licenses: numbers, sections: SECTIONS });
  await sandboxApi(server, 'POST', '/sandbox/faults', { latency_ms: latencyMs });

  const page = await newPage(browser);
  await signIn(page, server.base, ADMIN);
  await page.getByRole('heading', { name: `Welcome, ${ADMIN.name}` }).waitFor();
  await page.goto(`${server.base}/admin/integrations`);
  await hydrated(page);
  const box = page.getByPlaceholder('Paste your API key here...');
  const times = [];
  let cells = 0;
  for (let run = 0; run < runs; run++) {
    await box.fill('');
    await page.locator('.verdict', { hasText: 'Paste a key' }).waitFor();
    // The paste: the input event the browser fires, then the panel until every cell is in.
    const ms = await page.evaluate(async ({ key, licenses }) => {
      const input = document.querySelector('#facility-key');
      const start = performance.now();
      input.value = key;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      const want = `Key valid: it reaches ${licenses} facilities`;
      await new Promise((done, fail) => {
        const deadline = setTimeout(() => fail(new Error('panel did not complete in 60 s')), 60_000);
        const check = () => {
          const verdict = document.querySelector('.verdict')?.textContent ?? '';
          if (verdict.startsWith(want)) { clearTimeout(deadline); done(); } else requestAnimationFrame(check);
        };
        check();
      });
      return performance.now() - start;
    }, { key: owner.api_key, licenses });
    cells = await page.locator('.validation-grid td.cell').count();
    const pendingCells = await page.locator('.validation-grid td.cell.pending').count();
    if (pendingCells) throw new Error(`${pendingCells} cells still pending`);
    times.push(ms);
    console.log(`run ${run + 1}: ${(ms / 1000).toFixed(2)} s`);
  }
  const na = await page.locator('.validation-grid td.cell.na').count();
  const probes = cells - na;
  const debounce = 0.4;
  const floor = debounce + latencyMs / 1000 + Math.max((probes - 1) / 150, 0) + latencyMs / 1000;
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] / 1000;
  console.log(`licenses ${licenses}, latency ${latencyMs} ms, cells ${cells} (${na} not applicable, ${probes} probes)`);
  console.log(`median paste-to-complete ${median.toFixed(2)} s; floor ${floor.toFixed(2)} s (0.4 s debounce + facilities call + probes at 150/s + one latency); ratio ${(median / floor).toFixed(2)}`);
  console.log(`problems: ${JSON.stringify(page.problems)}`);
} finally {
  await browser.close();
  await server.stop();
}
