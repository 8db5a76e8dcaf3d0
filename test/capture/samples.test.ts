import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readme, scenarios } from '../../tools/make-pcaps.js';
import { epochText, readAll, SAMPLES_DIR, tsharkFields } from '../support/captures.js';

const run = promisify(execFile);
const CHECKSUMS = ['-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];

const sampleFiles = readdirSync(SAMPLES_DIR)
  .filter((n) => /\.(pcap|pcapng|gz)$/.test(n))
  .sort();

describe('sample captures', () => {
  it('are exactly what tools/make-pcaps.ts writes (run it again after changing a scenario)', () => {
    expect(sampleFiles).toEqual(scenarios.map((s) => s.file).sort());
    for (const s of scenarios) {
      const onDisk = readFileSync(join(SAMPLES_DIR, s.file));
      const built = s.build();
      // gzip output may differ between zlib versions; the capture inside must not.
      if (s.file.endsWith('.gz')) expect(gunzipSync(onDisk).equals(gunzipSync(built)), s.file).toBe(true);
      else expect(onDisk.equals(built), s.file).toBe(true);
    }
    expect(readFileSync(join(SAMPLES_DIR, 'README.md'), 'utf8')).toBe(readme());
  });

  /**
   * Warnings a sample carries on purpose: captures of reordering, lost segments and resets must make
   * tshark say so, and tshark 4.0 leaves NFSv4 GETATTR reply bitmaps it does not know undissected.
   */
  const INTENDED_WARNINGS: Record<string, RegExp[]> = {
    'hl7-split-retransmit.pcap': [/TCP\s+Previous segment\(s\) not captured/, /TCP\s+This frame is a \(suspected\) out-of-order segment/],
    'nfsv4-external.pcap': [/NFS\s+There is some bitmap data left undissected/],
    'flow-reorder-retransmit.pcap': [/TCP\s+Previous segment\(s\) not captured/, /TCP\s+This frame is a \(suspected\) out-of-order segment/, /TCP\s+ACKed segment that wasn't captured/],
    'flow-gap.pcap': [/TCP\s+Previous segment\(s\) not captured/, /TCP\s+ACKed segment that wasn't captured/],
    'hl7-lost-segment-515.pcap': [/TCP\s+Previous segment\(s\) not captured/, /TCP\s+ACKed segment that wasn't captured/],
    'mount-lost-segment.pcap': [/TCP\s+Previous segment\(s\) not captured/, /TCP\s+ACKed segment that wasn't captured/],
    'cms8000-lost-segment.pcap': [/TCP\s+Previous segment\(s\) not captured/, /TCP\s+ACKed segment that wasn't captured/],
    'flow-seq-wrap.pcap': [/TCP\s+Previous segment\(s\) not captured/],
    'flow-fin-rst.pcap': [/TCP\s+Connection reset \(RST\)/],
  };

  /** The summary lines of tshark's "Warns" section of `-z expert`. */
  function warningsOf(expert: string): string[] {
    const section = /^Warns \(\d+\)\n=+\n[^\n]*\n((?:\s+\d+\s+.*\n?)*)/m.exec(expert);
    return section === null ? [] : section[1].split('\n').map((l) => l.trim()).filter((l) => l !== '');
  }

  // tshark refuses a file with a pcapng section of an unknown version, which that sample is about.
  for (const name of sampleFiles.filter((n) => n !== 'pcapng-unknown-version.pcapng')) {
    const path = join(SAMPLES_DIR, name);

    it(`${name}: tshark dissects it without malformed packets, bad checksums or warnings`, async () => {
      const { stdout } = await run('tshark', ['-r', path, ...CHECKSUMS, '-q', '-z', 'expert,note'], { maxBuffer: 16 * 1024 * 1024 });
      expect(stdout).not.toMatch(/^Errors \(/m);
      expect(stdout).not.toMatch(/Malformed/i);
      const allowed = INTENDED_WARNINGS[name] ?? [];
      expect(warningsOf(stdout).filter((w) => !allowed.some((a) => a.test(w)))).toEqual([]);
    });

    it(`${name}: our reader agrees with tshark on every frame`, async () => {
      const ours = await readAll(path, { chunkSize: 100 });
      expect(ours.error).toBeNull();
      const frames = await tsharkFields(path, ['frame.interface_id', 'frame.time_epoch', 'frame.cap_len', 'frame.len']);
      expect(ours.packets).toHaveLength(frames.length);
      ours.packets.forEach((p, i) => {
        const [iface, epoch, caplen, len] = frames[i];
        expect([p.interfaceId, epochText(p.tsSec, p.tsNsec), p.caplen, p.origlen], `frame ${i + 1}`).toEqual([
          Number(iface),
          epoch,
          Number(caplen),
          Number(len),
        ]);
      });
    });
  }

  it('include cut frames in snaplen-cut.pcap', async () => {
    const { packets } = await readAll(join(SAMPLES_DIR, 'snaplen-cut.pcap'));
    expect(packets.some((p) => p.caplen === 96 && p.origlen > 96)).toBe(true);
    expect(packets.every((p) => p.caplen <= 96)).toBe(true);
  });

  it('include several link types in mixed-linktypes.pcapng', async () => {
    const { packets } = await readAll(join(SAMPLES_DIR, 'mixed-linktypes.pcapng'));
    expect(new Set(packets.map((p) => p.linkType))).toEqual(new Set([0, 1, 101, 113]));
  });
});
