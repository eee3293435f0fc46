// The browser check of "caseflow report html": open the page from disk in
// headless Chromium (/usr/bin/chromium, driven by playwright-core), check
// that it fetches nothing, that its three charts and the tables of every
// report are drawn, and save a screenshot (docs/screenshots/report.png).
//
//   node tools/uicheck/report.mjs REPORT.html [SCREENSHOT.png]
//   CHROMIUM  the browser (default /usr/bin/chromium)
import { chromium } from 'playwright-core';
import path from 'node:path';

const [page_, shot = 'docs/screenshots/report.png'] = process.argv.slice(2);
if (!page_) {
  console.error('usage: node tools/uicheck/report.mjs REPORT.html [SCREENSHOT.png]');
  process.exit(2);
}
const fail = (msg) => { console.error('report-check: ' + msg); process.exit(1); };

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  const fetched = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    fetched.push(url);
    return route.abort();
  });
  await page.goto('file://' + path.resolve(page_), { waitUntil: 'load' });
  if (fetched.length) fail('the page fetched ' + fetched.join(', '));
  const svgs = await page.locator('svg').count();
  if (svgs !== 3) fail(`want 3 charts, have ${svgs}`);
  for (const name of ['tcm', 'authorizations', 'appointments', 'calls', 'ccm', 'caseload']) {
    if (await page.locator(`h2#${name}`).count() !== 1) fail(`no section ${name}`);
  }
  const drawn = await page.locator('svg rect, svg circle').count();
  if (drawn === 0) fail('the charts draw nothing');
  const tables = await page.locator('table').count();
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`report-check: ${svgs} charts (${drawn} marks), ${tables} tables, nothing fetched; screenshot ${shot}`);
} finally {
  await browser.close();
}
