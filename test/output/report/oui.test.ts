import { describe, expect, it } from 'vitest';
import { OuiTable } from '../../../src/output/report/oui.js';

function table(text: string): OuiTable {
  const t = new OuiTable();
  t.parse(text);
  return t;
}

const WIRESHARK = [
  '# comment line',
  '00:1A:2B\tAyecom\tAyecom Technology Co., Ltd.',
  '00:50:C2:12:30/36\tSmallCo\tSmall Company 36-bit',
  '70:B3:D5:1\tMidCo',
  '00:1A:2B:C/28\tLonger\tLonger Prefix Vendor',
].join('\n');

describe('OUI vendor lookup', () => {
  it('names the vendor of a known 24-bit prefix in any MAC spelling', () => {
    const t = table(WIRESHARK);
    expect(t.vendor('00:1a:2b:00:00:01')).toBe('Ayecom Technology Co., Ltd.');
    expect(t.vendor('00-1A-2B-00-00-01')).toBe('Ayecom Technology Co., Ltd.');
    expect(t.vendor('001a.2b00.0001')).toBe('Ayecom Technology Co., Ltd.');
  });

  it('prefers the longest registered prefix (28 and 36 bits)', () => {
    const t = table(WIRESHARK);
    expect(t.vendor('00:1a:2b:c0:00:01')).toBe('Longer Prefix Vendor');
    expect(t.vendor('00:50:c2:12:3f:ff')).toBe('Small Company 36-bit');
    expect(t.vendor('70:b3:d5:1f:00:00')).toBe('MidCo');
    expect(t.vendor('00:50:c2:12:40:00')).toBeNull();
  });

  it('reads the IEEE registry format', () => {
    const t = table('00-0C-29   (hex)\t\tVMware, Inc.\n000C29     (base 16)\t\tVMware, Inc.\n');
    expect(t.size).toBe(1);
    expect(t.vendor('00:0c:29:aa:bb:cc')).toBe('VMware, Inc.');
  });

  it('returns null for an unknown prefix', () => {
    expect(table(WIRESHARK).vendor('00:00:01:02:03:04')).toBeNull();
  });

  it('gives no vendor to a locally administered address, even if its prefix is listed', () => {
    const t = table('02:1A:2B\tFake\tFake Vendor\n00:1A:2B\tAyecom\tAyecom');
    expect(t.vendor('02:1a:2b:00:00:01')).toBeNull();
  });

  it('gives no vendor to a multicast or broadcast address absent from the table', () => {
    const t = table(WIRESHARK);
    expect(t.vendor('01:1a:2b:00:00:01')).toBeNull();
    expect(t.vendor('ff:ff:ff:ff:ff:ff')).toBeNull();
  });

  it('returns null for malformed input without throwing', () => {
    const t = table(WIRESHARK);
    for (const bad of ['', '00:1a:2b', '00:1a:2b:00:00:01:02', 'zz:zz:zz:zz:zz:zz', 'not a mac']) {
      expect(t.vendor(bad)).toBeNull();
    }
  });

  it('loads an empty table, not an error, when no table file exists', () => {
    const t = OuiTable.load(['/nonexistent/manuf']);
    expect(t.size).toBe(0);
    expect(t.vendor('00:1a:2b:00:00:01')).toBeNull();
  });
});
