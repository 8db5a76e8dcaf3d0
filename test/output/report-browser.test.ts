import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, tempDir } from '../support/cli.js';

const CAPTURES = ['cms8000-to-indicator.pcap', 'busybox-nfs-mount-udp.pcap', 'hl7-mllp-external-515.pcap'].map((f) => join(REPO_ROOT, 'pcaps', f));

describe('incident report', () => {
  it('renders in headless Chromium without requests or console errors, scripts off too, and equals the page made from its EVE', async () => {
    const dir = tempDir();
    const html = join(dir.path, 'a.html');
    const eve = join(dir.path, 'eve.json');
    const run = await runCli(['replay', ...CAPTURES, '--flows', '--eve', eve, '--report', html, '--format', 'json']);
    expect(run.code).toBe(0);
    const again = join(dir.path, 'b.html');
    expect((await runCli(['report', eve, '-o', again])).code).toBe(0);
    const page1 = readFileSync(html, 'utf8');
    expect(readFileSync(again, 'utf8')).toBe(page1);
    expect(page1).not.toContain('DOE^JANE');
    expect(page1).not.toContain('MRN123456');
    const shas = readFileSync(eve, 'utf8').split('\n').filter((l) => l.includes('"event_type":"run"')).flatMap((l) => JSON.parse(l).wardwatch.run.captures.map((c: { sha256: string }) => c.sha256));
    expect(shas).toHaveLength(3);

    const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      for (const scripts of [true, false]) {
        const page = await browser.newPage();
        await page.setJavaScriptEnabled(scripts);
        const problems: string[] = [];
        page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warn') problems.push(m.text()); });
        page.on('request', (r) => { if (r.url() !== 'file://' + html) problems.push('request ' + r.url()); });
        await page.goto('file://' + html);
        const text = await page.$eval('body', (body) => (body as unknown as { innerText: string }).innerText);
        for (const fact of ['10.20.30.40', '202.114.4.119', '1000001', '1000002', '1000004', ...shas]) expect(text).toContain(fact);
        expect(problems).toEqual([]);
        if (scripts) {
          mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
          await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'report.png'), fullPage: true });
        }
      }
    } finally {
      await browser.close();
      dir.remove();
    }
  }, 60_000);

  it('with full evidence is mode 0600 and says so on its first line; empty EVE input exits 2', async () => {
    const dir = tempDir();
    const html = join(dir.path, 'full.html');
    expect((await runCli(['replay', CAPTURES[2], '--evidence', 'full', '--report', html, '--format', 'json'])).code).toBe(0);
    expect(statSync(html).mode & 0o777).toBe(0o600);
    expect(readFileSync(html, 'utf8').split('\n')[0]).toMatch(/CONTAINS PATIENT DATA/);
    const empty = join(dir.path, 'empty.json');
    (await import('node:fs')).writeFileSync(empty, '');
    const r = await runCli(['report', empty, '-o', join(dir.path, 'x.html')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no EVE records/);
  }, 60_000);

  it('skips bad EVE lines with one warning per file naming the first, and says how many in the page', async () => {
    const dir = tempDir();
    const eve = join(dir.path, 'eve.json');
    expect((await runCli(['replay', CAPTURES[0], '--eve', eve, '--format', 'json'])).code).toBe(0);
    const good = readFileSync(eve, 'utf8');
    const bad = join(dir.path, 'bad.json');
    const cut = good.trimEnd().split('\n').pop()!.slice(0, 20);
    (await import('node:fs')).writeFileSync(bad, 'not json\n' + good + '{"event_type":"dns"}\n' + cut);
    const r = await runCli(['report', bad, '-o', join(dir.path, 'r.html')]);
    expect(r.code).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('warning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/skipped 3 bad lines, the first at line 1/);
    expect(readFileSync(join(dir.path, 'r.html'), 'utf8')).toMatch(/EVE lines skipped[^<]*<\/td><td class="num">3</);
    dir.remove();
  }, 60_000);
});
