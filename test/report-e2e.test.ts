/**
 * End to end: fixture runs directory → `generateReport` → index.html opened in Debian's Chromium through
 * playwright-core. Fails (never skips) when Chromium is missing: CI must `apt-get install -y chromium`.
 * The rendered report and a full-page screenshot are kept in reports/test-artifacts/report-e2e/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { generateReport, type ReportResult } from '../src/report/index.ts';
import { FIXTURE_TRIALS, makeFixtureRuns } from './fixtures/report/make-runs.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ARTIFACTS = path.join(root, 'reports/test-artifacts/report-e2e');
const CHROMIUM = process.env.DIVD_CHROMIUM ?? '/usr/bin/chromium';
// platform.md: Debian's chromium with these flags; nothing may reach the network.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];

describe('report in a real browser', () => {
  let tmp: string;
  let result: ReportResult;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const requests: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set DIVD_CHROMIUM)`);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'divd-report-e2e-'));
    const runsDir = makeFixtureRuns(tmp);
    rmSync(ARTIFACTS, { recursive: true, force: true });
    result = await generateReport({ runsDir, outDir: ARTIFACTS, now: new Date('2026-11-25T12:00:00Z') });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(result.files.html).href, { waitUntil: 'load' });
  });

  after(async () => {
    await browser?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('loads with no console errors and no request beyond the file itself', () => {
    assert.deepEqual(consoleErrors, []);
    const htmlUrl = pathToFileURL(result.files.html).href;
    assert.deepEqual(requests.filter((u) => u !== htmlUrl && !u.startsWith('data:')), []);
  });

  it('every image decodes (natural width > 0) and there are input | ours | ground-truth panels with insets', async () => {
    const images = await page.$$eval('img', (imgs) => imgs.map((i) => ({ ok: i.complete && i.naturalWidth > 0, alt: i.alt, inline: i.src.startsWith('data:image/png;base64,') })));
    assert.ok(images.length > 0);
    assert.deepEqual(images.filter((i) => !i.ok), []);
    assert.ok(images.every((i) => i.inline), 'all images are inline PNG');
    const captions = await page.$$eval('.comparison figure figcaption', (els) => els.map((e) => e.textContent ?? ''));
    // 2 sequences × (input + 3 configurations with a done seed + ground truth)
    assert.equal(captions.length, 2 * 5);
    assert.deepEqual(captions.slice(0, 5), ['Blurry input', 'Ours: windows=[4,3,2,1]', 'Ours: windows=[3,2,1,1]', 'Ours: windows=[6,4,3,2]', 'Ground truth']);
    assert.equal(await page.locator('img.inset').count(), 2 * 5);
    assert.equal(await page.locator('.strip img').count(), 2 * 4);
  });

  it('shows the main and ablation tables with marks, and the failed and running trials', async () => {
    const ids = await page.$$eval('figure.table', (els) => els.map((e) => e.id));
    assert.deepEqual(ids, ['main-gopro', 'main-dvd', 'ablation']);
    const headers = await page.$$eval('#ablation th', (els) => els.map((e) => e.textContent));
    assert.deepEqual(headers, ['windows', 'PSNR↑', 'SSIM↑', 'LPIPS↓', 'FID↓', 'KID↓', 'Notes']);
    assert.equal(await page.locator('#ablation tbody tr').count(), 3);
    assert.equal(await page.locator('#ablation strong').first().textContent(), '28.20 ± 0.28');
    assert.ok((await page.locator('#ablation u').count()) > 0);
    const note = await page.locator('#ablation td.note').nth(2).textContent();
    assert.match(note ?? '', /t6432s2 failed: loss became NaN.*t6432s3 running \(training, step 20\)/);
    for (const t of FIXTURE_TRIALS) assert.equal(await page.locator(`#trial-${t.id}`).count(), 1, t.id);
    assert.match((await page.locator('#trial-t6432s2').textContent()) ?? '', /failed/);
    assert.match((await page.locator('#main-gopro').textContent()) ?? '', /RVRT/);
  });

  it('every link inside the page points at an element that exists', async () => {
    const missing = await page.$$eval('a[href^="#"]', (as) => as.map((a) => a.getAttribute('href')!.slice(1)).filter((id) => !document.getElementById(id)));
    assert.deepEqual(missing, []);
  });

  it('renders the charts as visible inline SVG and saves a screenshot', async () => {
    const expected = 1 /* PSNR vs LPIPS */ + 1 /* metrics vs windows */ + FIXTURE_TRIALS.length; /* training curves */
    assert.equal(result.charts, expected);
    const boxes = await page.$$eval('figure.chart svg', (svgs) => svgs.map((s) => s.getBoundingClientRect().width * s.getBoundingClientRect().height));
    assert.equal(boxes.length, expected);
    assert.ok(boxes.every((a) => a > 10_000), `every chart has a visible area: ${boxes.join(', ')}`);
    assert.ok((await page.locator('#chart-pd text').allTextContents()).some((t) => t.includes('Ours: windows=[4,3,2,1]')));
    const shot = path.join(ARTIFACTS, 'screenshot.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(existsSync(shot));
  });
});
