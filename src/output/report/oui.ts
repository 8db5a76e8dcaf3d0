/**
 * MAC vendors from an OUI table the system already has: Wireshark's `manuf` (tshark's data) or
 * the IEEE registry of the `ieee-data` package. Without either there is no vendor, and no error.
 */
import { readFileSync } from 'node:fs';

export const OUI_TABLES: readonly string[] = ['/usr/share/wireshark/manuf', '/usr/share/ieee-data/oui.txt'];

export class OuiTable {
  /** Keyed by prefix length in bits and the prefix as hex digits (6, 7 or 9 of them). */
  private readonly prefixes = new Map<string, string>();

  /** The first table of `paths` that can be read; an empty table when none can. */
  static load(paths: readonly string[] = OUI_TABLES): OuiTable {
    const table = new OuiTable();
    for (const path of paths) {
      let text: string;
      try {
        text = readFileSync(path, 'latin1');
      } catch {
        continue;
      }
      table.parse(text);
      if (table.size > 0) break;
    }
    return table;
  }

  get size(): number {
    return this.prefixes.size;
  }

  /** Wireshark's `PREFIX[/bits] <tab> short <tab> long name` lines, or IEEE's `00-1A-2B   (hex)   Name`. */
  parse(text: string): void {
    for (const line of text.split('\n')) {
      const ieee = /^([0-9A-Fa-f]{2})-([0-9A-Fa-f]{2})-([0-9A-Fa-f]{2})\s+\(hex\)\s+(.+?)\s*$/.exec(line);
      if (ieee !== null) {
        this.prefixes.set(`24:${(ieee[1] + ieee[2] + ieee[3]).toLowerCase()}`, ieee[4]);
        continue;
      }
      const ws = /^([0-9A-Fa-f:.-]+?)(?:\/(\d+))?\t([^\t\r]+)(?:\t([^\r]+))?/.exec(line);
      if (ws === null) continue;
      const hex = ws[1].replace(/[:.-]/g, '').toLowerCase();
      const bits = ws[2] === undefined ? hex.length * 4 : Number(ws[2]);
      if (bits !== 24 && bits !== 28 && bits !== 36) continue;
      this.prefixes.set(`${bits}:${hex.slice(0, bits / 4)}`, (ws[4] ?? ws[3]).trim());
    }
  }

  /** The vendor of a MAC address (`00:1a:2b:...`), longest registered prefix first; null when unknown. */
  vendor(mac: string): string | null {
    const hex = mac.replace(/[:.-]/g, '').toLowerCase();
    if (hex.length !== 12) return null;
    // Locally administered addresses belong to no vendor.
    if ((parseInt(hex.slice(0, 2), 16) & 0x02) !== 0) return null;
    for (const bits of [36, 28, 24]) {
      const name = this.prefixes.get(`${bits}:${hex.slice(0, bits / 4)}`);
      if (name !== undefined) return name;
    }
    return null;
  }
}
