import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { epochText, FIXTURES_DIR, readAll, tsharkFields } from '../support/captures.js';

const SUITE = join(FIXTURES_DIR, 'pcapng-conformance');

function pcapngFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? pcapngFiles(join(dir, e.name)) : e.name.endsWith('.pcapng') ? [join(dir, e.name)] : []))
    .sort();
}

/** Packets the description implies: enhanced, simple and obsolete packet blocks. */
function expectedPackets(description: string): number {
  const counts = /Block counts:\n((?:[ \t]+\w+: \d+\n?)*)/.exec(description)?.[1] ?? '';
  let packets = 0;
  for (const m of counts.matchAll(/(\w+): (\d+)/g)) if (m[1] === 'EPB' || m[1] === 'SPB' || m[1] === 'PB') packets += Number(m[2]);
  return packets;
}

const files = pcapngFiles(SUITE);

describe('pcapng conformance suite', () => {
  it('is present with both byte orders', () => {
    expect(files.filter((f) => f.includes('output_le')).length).toBeGreaterThanOrEqual(24);
    expect(files.filter((f) => f.includes('output_be')).length).toBe(files.filter((f) => f.includes('output_le')).length);
  });

  for (const file of files) {
    const name = relative(SUITE, file);
    it(`${name}: reads every packet, with tshark's timestamps and lengths`, async () => {
      const description = readFileSync(file.replace(/\.pcapng$/, '.txt'), 'utf8');
      const result = await readAll(file, { chunkSize: 64 });
      expect(result.error).toBeNull();
      expect(result.packets).toHaveLength(expectedPackets(description));

      // tshark also lists some non-packet blocks as frames; those have no interface.
      const frames = (await tsharkFields(file, ['frame.interface_id', 'frame.time_epoch', 'frame.cap_len', 'frame.len'])).filter(
        ([iface]) => iface !== '',
      );
      expect(frames).toHaveLength(result.packets.length);
      result.packets.forEach((p, i) => {
        const [iface, epoch, caplen, len] = frames[i];
        expect(p.interfaceId, `interface of packet ${i + 1}`).toBe(Number(iface));
        expect(p.caplen, `caplen of packet ${i + 1}`).toBe(Number(caplen));
        expect(p.origlen, `origlen of packet ${i + 1}`).toBe(Number(len));
        // Simple packet blocks have no timestamp; tshark leaves the field empty for them.
        if (epoch !== '') expect(epochText(p.tsSec, p.tsNsec), `time of packet ${i + 1}`).toBe(epoch);
      });
    });
  }
});
