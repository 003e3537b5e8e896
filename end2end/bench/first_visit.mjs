// Benchmark: a page as a tablet on weak Wi-Fi feels it. For /login, /inventory/packages (an
// employee) and /admin/facilities (an admin), with a cold cache and a warm one: the time from
// navigation to the page being interactive (the app's hydration marker, `data-hydrated` on the
// body) and the bytes transferred (all of them, and the WASM's). Chromium at 768 x 1024, its
// network throttled to 10 Mbit/s down (5 up) with a 40 ms round trip and its CPU slowed 4 times
// (DevTools' emulation). Runs the release build (target/release/tracekeeper) with its embedded
// sandbox, in Debian's Chromium.
//
//   cd end2end && npm run bench:first-visit [-- RUNS]
//
// Prints each page's median over RUNS (default 5) and a Markdown table for docs/benchmarks.md.
import { ADMIN, EMPLOYEE, startServer, launchBrowser, signIn } from '../tests/support.mjs';

const [runs = 5] = process.argv.slice(2).map(Number);
const NETWORK = { offline: false, latency: 40, downloadThroughput: 10e6 / 8, uploadThroughput: 5e6 / 8 };
const CPU_SLOWDOWN = 4;
const PAGES = [
  { path: '/login', who: null },
  { path: '/inventory/packages', who: EMPLOYEE },
  { path: '/admin/facilities', who: ADMIN },
];

const server = await startServer();
const browser = await launchBrowser();

/** A tablet's browser context, signed in as `who` (when given) before any throttling, with a
 *  DevTools session that throttles and counts what the network carries. */
async function tablet(who) {
  const context = await browser.newContext({ viewport: { width: 768, height: 1024 }, hasTouch: true, isMobile: true });
  // The moment the app marks itself hydrated, in the page's own clock (ms since navigation).
  await context.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.body?.dataset.hydrated === 'true') {
        window.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });
  });
  const page = await context.newPage();
  if (who) {
    await signIn(page, server.base, who);
    await page.getByRole('heading', { name: `Welcome, ${who.name}` }).waitFor();
  }
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const urls = new Map();
  const traffic = { bytes: 0, wasm: 0 };
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => {
    traffic.bytes += e.encodedDataLength;
    if (new URL(urls.get(e.requestId) ?? 'http://x/').pathname.endsWith('.wasm')) traffic.wasm += e.encodedDataLength;
  });
  await cdp.send('Network.emulateNetworkConditions', NETWORK);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU_SLOWDOWN });
  return { context, page, cdp, traffic };
}

/** Opens `path` and waits until it is interactive: the time it took and the bytes it moved. */
async function visit({ page, traffic }, path) {
  traffic.bytes = 0;
  traffic.wasm = 0;
  await page.goto(`${server.base}${path}`, { waitUntil: 'commit' });
  await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 120_000 });
  const ms = await page.evaluate(() => window.__hydratedAt);
  // Whatever is still arriving after hydration (a resource's answer) counts too.
  await page.waitForLoadState('networkidle');
  return { ms, bytes: traffic.bytes, wasm: traffic.wasm };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KB`;

try {
  const rows = [];
  for (const { path, who } of PAGES) {
    const cold = [];
    const warm = [];
    for (let run = 0; run < runs; run++) {
      const t = await tablet(who);
      // Cold: nothing cached (signing in above filled the cache, so it is emptied first).
      await t.cdp.send('Network.clearBrowserCache');
      cold.push(await visit(t, path));
      // Warm: the same page again, as a second visit the next day would be.
      warm.push(await visit(t, path));
      await t.context.close();
      console.log(`${path} run ${run + 1}: cold ${cold.at(-1).ms.toFixed(0)} ms ${kb(cold.at(-1).bytes)}, warm ${warm.at(-1).ms.toFixed(0)} ms ${kb(warm.at(-1).bytes)}`);
    }
    for (const [cache, list] of [['cold', cold], ['warm', warm]]) {
      rows.push({
        path,
        cache,
        ms: median(list.map((r) => r.ms)),
        bytes: median(list.map((r) => r.bytes)),
        wasm: median(list.map((r) => r.wasm)),
      });
    }
  }
  console.log(`\n${runs} runs each; 10 Mbit/s down, 5 up, 40 ms round trip, CPU slowed ${CPU_SLOWDOWN}x, 768 x 1024\n`);
  console.log('| page | cache | interactive after (median) | transferred | of it WASM |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| \`${r.path}\` | ${r.cache} | ${(r.ms / 1000).toFixed(2)} s | ${kb(r.bytes)} | ${kb(r.wasm)} |`);
} finally {
  await browser.close();
  await server.stop();
}
