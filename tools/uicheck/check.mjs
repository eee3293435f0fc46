// make ui-check, the browser part: headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core) against the local Temporal
// Web UI at its real address, with caseflow's codec server configured as
// "make run" configures it. scripts/ui-check.sh starts the stack and opens
// the cases; this checks what an engineer sees and saves the screenshots:
// the case list, the case's page and its decoded history, the user
// metadata, and the page without the codec token. It drives the page
// through the DevTools protocol (Playwright) and waits for what it checks:
// a plain "chromium --screenshot" of this single-page app comes out blank or
// hangs (docs/cli.md, "Taking the screenshots yourself").
//
// Environment:
//   UI_URL          the Web UI, e.g. http://localhost:8233
//   CASE_ID         a case in phase PHASE whose assessment notes contain DECODED_TEXT
//   PHASE           the case's phase (the list is filtered by it)
//   DECODED_TEXT    text that exists only in the decrypted history
//   SCREENSHOTS     directory for the PNGs (default docs/screenshots)
//   CHROMIUM        the browser (default /usr/bin/chromium)
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const env = (name, def) => {
  const v = process.env[name] ?? def;
  if (v === undefined || v === '') throw new Error(`ui-check: ${name} is not set`);
  return v;
};
const UI = env('UI_URL').replace(/\/$/, '');
const CASE_ID = env('CASE_ID');
const PHASE = env('PHASE');
const DECODED = env('DECODED_TEXT');
const OUT = env('SCREENSHOTS', 'docs/screenshots');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const WF = `case-${CASE_ID}`;
// base64 of "binary/encrypted": how the UI shows the encoding of a payload it could not decode.
const ENCRYPTED = Buffer.from('binary/encrypted').toString('base64');

const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

// The UI must be configured with the codec server, as make run does.
const settings = await (await fetch(`${UI}/api/v1/settings`)).json();
const endpoint = settings?.Codec?.Endpoint ?? '';
if (!endpoint) {
  console.error(`ui-check: the Web UI at ${UI} has no codec endpoint; start it with "make run" (which points it at the codec server)`);
  process.exit(1);
}
const codecOrigin = new URL(endpoint).origin;
console.log(`Web UI ${UI} (UI ${settings.Version}), codec server ${codecOrigin}/ui/<token>`);

fs.mkdirSync(OUT, { recursive: true });
const profiles = [];
async function browser() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caseflow-uicheck-'));
  profiles.push(dir);
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 1000 },
  });
  // Show caseflow's search attributes as columns of the workflow list.
  await ctx.addInitScript(() => {
    const col = (label, pinned = false) => ({ label, pinned });
    localStorage.setItem('namespace-workflow-table-columns', JSON.stringify({
      default: [col('Status', true), col('Workflow ID', true), col('CasePhase'), col('CaseRisk'),
        col('CaseProgram'), col('CaseManager'), col('CaseNextDue'), col('Start')],
    }));
  });
  ctx.setDefaultTimeout(30000);
  return ctx;
}

// codecCalls counts the codec server's answers by status.
function codecCalls(page) {
  const calls = {};
  page.on('response', (r) => {
    if (r.url().startsWith(codecOrigin) && r.request().method() === 'POST') {
      calls[r.status()] = (calls[r.status()] ?? 0) + 1;
    }
  });
  return calls;
}

// openCase opens the case's page (history tab) and waits for the event
// history to render.
async function openCase(page) {
  await page.goto(`${UI}/namespaces/default/workflows/${WF}`, { waitUntil: 'domcontentloaded' });
  await page.getByText('Event History').first().waitFor();
}

// openAssessment switches the event list to its compact view, expands the
// assess update and scrolls its request to the end, where the notes are.
async function openAssessment(page) {
  await page.getByText('Compact', { exact: true }).first().click();
  const row = page.locator('tr', { hasText: 'Workflow Update' }).filter({ hasText: /\bassess\b/ }).first();
  await row.click();
  const request = page.locator('.cm-scroller', { hasText: '"updateId"' }).first();
  await request.waitFor();
  await page.waitForTimeout(1000); // let the codec answers render
  await request.evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await page.waitForTimeout(300);
  await page.getByText('Compact', { exact: true }).first().evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.waitForTimeout(300);
}

let ctx;
try {
  // 1. The case list, filtered by phase.
  ctx = await browser();
  let page = await ctx.newPage();
  const query = encodeURIComponent(`CasePhase="${PHASE}"`);
  await page.goto(`${UI}/namespaces/default/workflows?query=${query}`, { waitUntil: 'domcontentloaded' });
  const row = page.locator('tr', { hasText: WF }).first();
  await row.waitFor();
  const rowText = await row.innerText();
  check(rowText.includes(PHASE), `the list filtered by CasePhase="${PHASE}" shows ${WF} in phase ${PHASE}`);
  check(rowText.includes('cm-ana'), 'the list shows the CaseManager search attribute');
  const listText = await page.innerText('body');
  check(!listText.includes(DECODED), 'the list shows no payload data');
  await page.waitForTimeout(1000);
  await page.screenshot({ path: path.join(OUT, 'case-list.png') });

  // 2. The case's page and history, decoded by the codec server.
  page = await ctx.newPage();
  const calls = codecCalls(page);
  await openCase(page);
  await page.getByText('"patient_id"').first().waitFor();
  check(true, 'the workflow input is decoded (it shows "patient_id", which exists only inside the encrypted input)');
  const pageText = await page.innerText('body');
  check(/record assess \(event \d+/.test(pageText),
    'activity summaries are decoded and say what each step did ("record assess (event 3, assessment → ...)")');
  check(!pageText.includes('River Quinn'), 'no summary or detail shows the patient\'s name');
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(OUT, 'case-page-decoded.png') });
  await openAssessment(page);
  const notes = page.locator('.cm-line', { hasText: DECODED }).first();
  check(await notes.isVisible(), `the assess update's decoded request shows the assessment notes ("${DECODED}")`);
  check((calls[200] ?? 0) > 0 && !calls[401], `the UI decoded through the codec server (answers by status: ${JSON.stringify(calls)})`);
  await page.screenshot({ path: path.join(OUT, 'case-history-decoded.png') });

  // 3. User metadata: static summary and details, current details.
  await openCase(page);
  await page.getByRole('link', { name: 'User Metadata' }).or(page.getByRole('tab', { name: 'User Metadata' })).first().click();
  // The UI renders summary, details and current details (from a query) as
  // markdown in sandboxed frames.
  const frameText = async () => (await Promise.all(page.frames().map((f) => f.innerText('body').catch(() => '')))).join('\n');
  let meta = '';
  for (let i = 0; i < 60 && !(meta.includes(`Care case ${CASE_ID}`) && /Phase:\s*\S+/.test(meta)); i++) {
    await page.waitForTimeout(250);
    meta = await frameText();
  }
  check(meta.includes(`Care case ${CASE_ID}`), 'the static summary is decoded');
  check(/Phase:\s*\S+/.test(meta), 'the current details show the phase');
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(OUT, 'case-user-metadata.png') });
  await ctx.close();

  // 4. With a wrong token the codec server refuses and the page shows only
  //    encrypted payloads.
  ctx = await browser();
  await ctx.route((url) => url.href.startsWith(codecOrigin + '/ui/'), (route) =>
    route.continue({ url: route.request().url().replace(/\/ui\/[^/]+\//, '/ui/not-the-token-not-the-token/') }));
  page = await ctx.newPage();
  const refused = codecCalls(page);
  await openCase(page);
  await page.getByText(ENCRYPTED).first().waitFor();
  await page.waitForTimeout(1000);
  let encText = await page.innerText('body');
  check(encText.includes(ENCRYPTED) && encText.includes('encryption-key-id'), 'without the token the page shows encrypted payloads (binary/encrypted, encryption-key-id)');
  check(!encText.includes('record assess'), 'without the token activity summaries stay encrypted too');
  await page.screenshot({ path: path.join(OUT, 'case-history-encrypted.png') });
  await openAssessment(page);
  encText = await page.innerText('body');
  check(!encText.includes('"patient_id"') && !encText.includes(DECODED), 'without the token nothing of the case data is readable, not even in the assess update');
  check((refused[401] ?? 0) > 0 && !refused[200], `the codec server refused the wrong token (answers by status: ${JSON.stringify(refused)})`);
} catch (err) {
  failures.push(String(err?.message ?? err).split('\n')[0]);
  console.error(err);
} finally {
  await ctx?.close().catch(() => {});
  for (const dir of profiles) fs.rmSync(dir, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`ui-check: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log(`ui-check: all checks passed; screenshots in ${OUT}/`);
