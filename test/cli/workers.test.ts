import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ethernet, fragmentIPv4, gre, ipv4, LINKTYPE, PcapWriter, tcp, udp } from '../../tools/craft/index.js';
import { ofType, parseEveLines, REPO_ROOT, runCli, tempDir, type EveRecord } from '../support/cli.js';

/** What identifies an alert whichever thread raised it: rule, ends, trigger time and packet. */
function alertKeys(records: readonly EveRecord[]): string[] {
  return ofType(records, 'alert')
    .map((a) => [a.alert.signature_id, a.src_ip, a.src_port, a.dest_ip, a.dest_port, a.timestamp, a.pcap_filename, a.pcap_cnt].join(' '))
    .sort();
}

async function alertsWith(args: string[]): Promise<string[]> {
  const result = await runCli(['replay', ...args, '--format', 'json']);
  expect(result.code, result.stderr).toBe(0);
  return alertKeys(parseEveLines(result.stdout));
}

const dir = tempDir('wardwatch-workers-');
afterAll(() => dir.remove());

describe('replay --workers', () => {
  it('raises exactly the alerts of one thread on every sample capture', async () => {
    const samples = readdirSync(join(REPO_ROOT, 'pcaps'))
      .filter((n) => /\.(pcap|pcapng)(\.gz)?$/.test(n))
      .map((n) => join('pcaps', n));
    let alerts = 0;
    for (const sample of samples) {
      // With the options the sample is meant to be replayed with (a monitors list, say).
      const args = [sample, ...((JSON.parse(readFileSync(join(REPO_ROOT, `${sample}.expected.json`), 'utf8')) as { args?: string[] }).args ?? [])];
      const one = await alertsWith(args);
      alerts += one.length;
      expect(await alertsWith([...args, '--workers', '2']), sample).toEqual(one);
    }
    expect(alerts).toBeGreaterThan(20);
  }, 180_000);

  it('keeps the fragments of tunnelled packets together (mirror traffic fragmented in GRE)', async () => {
    const writer = new PcapWriter({ linkType: LINKTYPE.ETHERNET });
    const mac = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
    for (let i = 0; i < 40; i++) {
      // Each inner packet travels in its own tunnel, fragmented: outer and inner pairs differ.
      const inner = ethernet(mac, ipv4({ src: `10.1.2.${i + 3}`, dst: '202.114.4.119' }, tcp({ sport: 40000 + i, dport: 515, flags: 'PA', seq: 1, ack: 1 }, Buffer.alloc(1400, 0x41))));
      const outer = ipv4({ src: `192.0.2.${i + 1}`, dst: '198.51.100.7', id: i + 1 }, gre({ protocol: 0x6558 }, inner));
      for (const fragment of fragmentIPv4(outer, 1000)) writer.add({ sec: 1_738_231_200 + i, nsec: 0, data: ethernet(mac, fragment) });
    }
    const capture = dir.file('gre-fragments.pcap', writer.toBuffer());
    const one = await alertsWith([capture]);
    // Each monitor's flow: 1000001 (the indicator). Each is one segment without a handshake, picked
    // up mid-stream, which proves nothing about LPD (a print job's data can be any bytes): no 1000006.
    expect(one).toHaveLength(40);
    expect(await alertsWith([capture, '--workers', '2'])).toEqual(one);
    expect(await alertsWith([capture, '--workers', '4'])).toEqual(one);
  }, 60_000);

  it('warns, and still analyses, when asked for as many threads as the machine has cores', async () => {
    const cores = availableParallelism();
    const many = await runCli(['replay', 'pcaps/cms8000-to-indicator.pcap', '--format', 'json', '--workers', String(Math.max(2, cores))]);
    expect(many.code, many.stderr).toBe(0);
    expect(many.stderr).toMatch(/as many analysis threads as cores/);
    expect(alertKeys(parseEveLines(many.stdout))).toEqual(await alertsWith(['pcaps/cms8000-to-indicator.pcap']));
    if (cores > 2) {
      const fewer = await runCli(['replay', 'pcaps/cms8000-to-indicator.pcap', '--format', 'json', '--workers', '2']);
      expect(fewer.stderr).not.toMatch(/as many analysis threads as cores/);
    }
  });

  it('refuses standard input, which only one thread could read', async () => {
    const result = await runCli(['replay', '-', '--workers', '2'], { stdin: Buffer.alloc(0) });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--workers.*standard input/);
  });

  it('counts every packet once and ends every flow once, with the same flow records, whatever the number of threads', async () => {
    const capture = 'pcaps/tunnel-gre.pcap';
    const stats = async (threads: string[]) => {
      const records = parseEveLines((await runCli(['replay', capture, '--flows', '--format', 'json', ...threads])).stdout);
      // Each thread hands out its own flow ids; everything else in a record is the flow's.
      const flows = ofType(records, 'flow').map(({ flow_id: _id, ...rest }) => JSON.stringify(rest));
      return { stats: ofType(records, 'stats')[0].stats, flows: flows.sort() };
    };
    const one = await stats([]);
    expect(one.flows.length).toBeGreaterThan(1);
    for (const n of ['2', '3']) {
      const many = await stats(['--workers', n]);
      expect(many.flows).toEqual(one.flows);
      expect(many.stats.decoder).toEqual(one.stats.decoder);
      expect(many.stats.flow.total).toBe(one.stats.flow.total);
    }
  });

  it('refuses rules with thresholds, which each thread would count on its own', async () => {
    const rules = dir.file(
      'threshold.yaml',
      'rules:\n  - id: 9000001\n    name: any TCP\n    category: test\n    severity: 3\n    match:\n      proto: tcp\nthresholds:\n  - id: 9000001\n    type: limit\n    track: by_rule\n    count: 1\n    seconds: 60\n',
    );
    const result = await runCli(['replay', 'pcaps/link-ethernet.pcap', '--rules', dir.path, '--workers', '2', '--format', 'json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/thresholds.*--workers/);
    expect(rules).toContain('threshold.yaml');
  });
});

describe('a worker that cannot open a capture', () => {
  it('fails the run with the one-line capture error, naming the file, not a stack trace', async () => {
    // The built module: its workers are the built replay-worker.js beside it.
    const { ShardedReplay } = await import(join(REPO_ROOT, 'dist/pipeline/sharded-replay.js'));
    const { RuleSet } = await import(join(REPO_ROOT, 'dist/detect/rule-set.js'));
    const rules = { rulesDir: join(REPO_ROOT, 'rules'), homeNet: undefined, indicatorFiles: [] };
    const { ruleSet } = await RuleSet.load(rules);
    const { openCapture } = await import(join(REPO_ROOT, 'dist/capture/open-capture.js'));
    const replay = new ShardedReplay(ruleSet, { alert() {}, flowEnd() {} }, { evidence: 'redacted' }, rules, 2);
    // Checked here, then gone by the time the workers open it.
    const missing = dir.file('vanishing.pcap', readFileSync(join(REPO_ROOT, 'pcaps/link-ethernet.pcap')));
    const { source } = await openCapture(missing, { readAhead: 1 });
    rmSync(missing);
    const failure = await replay.replay([{ path: missing, name: missing, source }]).catch((err: Error) => err);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).name).toBe('CaptureError');
    expect((failure as Error).message).toContain(missing);
    expect((failure as Error).message).not.toContain('\n');
  });
});

describe('an interrupted sharded replay', () => {
  it('stops every thread soon after the signal and reports what they analysed', async () => {
    const { ShardedReplay } = await import(join(REPO_ROOT, 'dist/pipeline/sharded-replay.js'));
    const { RuleSet } = await import(join(REPO_ROOT, 'dist/detect/rule-set.js'));
    const { openCapture } = await import(join(REPO_ROOT, 'dist/capture/open-capture.js'));
    const rules = { rulesDir: join(REPO_ROOT, 'rules'), homeNet: undefined, indicatorFiles: [] };
    const { ruleSet } = await RuleSet.load(rules);
    // 600 000 UDP packets between 64 host pairs, so both threads have a share all along.
    const total = 600_000;
    const mac = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
    const frames = Array.from({ length: 64 }, (_, pair) => ethernet(mac, ipv4({ src: `10.1.${pair}.1`, dst: `10.2.0.${pair + 1}` }, udp({ sport: 40000, dport: 5000 }, 'x'))));
    const writer = new PcapWriter({ linkType: LINKTYPE.ETHERNET });
    for (let i = 0; i < total; i++) writer.add({ sec: 1_700_000_000 + Math.floor(i / 1000), nsec: 0, data: frames[i % 64] });
    const file = dir.file('interrupted.pcap', writer.toBuffer());
    const replay = new ShardedReplay(ruleSet, { alert() {}, flowEnd() {} }, { evidence: 'redacted' }, rules, 2);
    const { source } = await openCapture(file, { readAhead: 1 });
    // As a signal does: the flag is set once, and read where the replay checks it.
    const outcomes = await replay.replay([{ path: file, name: file, source }], { interrupted: () => true });
    // This thread stops at its first check (65 536 packets read), the worker at its first check
    // after it is told (131 072 read); either going on would analyse its whole share, over 40 %.
    expect(outcomes[0].packets).toBeLessThan(total / 4);
    const stats = replay.stats();
    expect(stats.decode.packets).toBeGreaterThan(0);
    expect(stats.decode.packets).toBeLessThan(total / 4);
  });
});
