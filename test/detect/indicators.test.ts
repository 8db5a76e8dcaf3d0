import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AddressSet, Entry } from '../../src/detect/address-set.js';
import { parseAddress } from '../../src/lib/ip-text.js';
import {
  MAX_PROBLEMS_PER_FILE,
  csvRecords,
  loadIndicatorDir,
  loadIndicatorFiles,
  parseStixPattern,
  type Indicator,
} from '../../src/detect/indicators.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wardwatch-indicators-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function find(set: AddressSet<Indicator>, text: string): Entry<Indicator> | null {
  const p = parseAddress(text)!;
  return set.lookup(p.version, p.words, 0);
}

describe('plain text lists', () => {
  it('loads addresses and blocks, skipping comments and blank lines, keeping descriptions', async () => {
    const file = write(
      'c2.txt',
      [
        '# known bad',
        '',
        '202.114.4.119',
        '   198.51.100.0/24   # trailing comment',
        '2001:DB8:BAD::/48 lab range  # comment',
        '\t',
        '203.0.113.5\tseen calling out',
      ].join('\n'),
    );
    const { set, files, problems } = await loadIndicatorFiles([file]);
    expect(problems).toEqual([]);
    expect(files).toEqual([{ file, loaded: 4, skipped: 0 }]);
    expect(find(set, '202.114.4.119')?.value).toEqual({ value: '202.114.4.119', description: '', source: 'c2.txt', file, line: 3, exact: true });
    expect(find(set, '198.51.100.77')?.value).toMatchObject({ value: '198.51.100.0/24', description: '', line: 4, exact: false });
    expect(find(set, '2001:db8:bad:1::9')?.value).toMatchObject({ value: '2001:db8:bad::/48', description: 'lab range', line: 5 });
    expect(find(set, '203.0.113.5')?.value).toMatchObject({ description: 'seen calling out', line: 7 });
    expect(find(set, '203.0.113.6')).toBeNull();
  });

  it('reports bad lines with their line numbers and still loads the rest', async () => {
    const file = write('mixed.list', ['10.0.0.1', 'not-an-ip', '', '300.1.1.1', '192.0.2.0/33', '# fine', '192.0.2.9', '1.2.3.4/08'].join('\r\n'));
    const { set, files, problems } = await loadIndicatorFiles([file]);
    expect(files).toEqual([{ file, loaded: 2, skipped: 4 }]);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toBe(`${file}:2: not an IP address or CIDR: "not-an-ip"`);
    expect(problems[1]).toMatch(new RegExp(`^${escape(file)}:4: .*"300\\.1\\.1\\.1"$`));
    expect(problems[2]).toMatch(new RegExp(`^${escape(file)}:5: .*"192\\.0\\.2\\.0/33"$`));
    expect(problems[3]).toMatch(new RegExp(`^${escape(file)}:8: `));
    for (const p of problems) expect(p).not.toMatch(/\n/);
    expect(find(set, '192.0.2.9')?.value.line).toBe(7);
    expect(find(set, '10.0.0.1')?.value.line).toBe(1);
  });

  it('normalises what it keeps: host bits cleared, /32 dropped, IPv6 compressed, a BOM ignored', async () => {
    const file = write('norm.txt', '\ufeff10.1.2.3/8\n192.0.2.1/32\n2001:0DB8:0000:0000:0000:0000:0000:0001\n');
    const { set, problems } = await loadIndicatorFiles([file]);
    expect(problems).toEqual([]);
    expect(find(set, '10.200.0.1')?.value).toMatchObject({ value: '10.0.0.0/8', line: 1, exact: false });
    expect(find(set, '192.0.2.1')?.value).toMatchObject({ value: '192.0.2.1', exact: true });
    expect(find(set, '2001:db8::1')?.value).toMatchObject({ value: '2001:db8::1', exact: true, line: 3 });
  });

  it('caps the messages for a file full of bad lines and counts the rest', async () => {
    const bad = Array.from({ length: MAX_PROBLEMS_PER_FILE + 7 }, (_, i) => `bad-${i}`);
    const file = write('noise.txt', ['10.0.0.1', ...bad].join('\n'));
    const { files, problems } = await loadIndicatorFiles([file]);
    expect(files[0]).toEqual({ file, loaded: 1, skipped: MAX_PROBLEMS_PER_FILE + 7 });
    expect(problems).toHaveLength(MAX_PROBLEMS_PER_FILE + 1);
    expect(problems.at(-1)).toBe(`${file}: 7 more problems not shown`);
  });

  it('names a file that cannot be read and carries on with the others', async () => {
    const good = write('good.txt', '10.0.0.1\n');
    const missing = join(dir, 'missing.txt');
    const { set, files, problems } = await loadIndicatorFiles([missing, good]);
    expect(problems).toEqual([`${missing}: cannot read indicator file: ENOENT`]);
    expect(files).toEqual([
      { file: missing, loaded: 0, skipped: 0 },
      { file: good, loaded: 1, skipped: 0 },
    ]);
    expect(set.size).toBe(1);
  });
});

describe('CSV lists', () => {
  it('reads the header, quoted commas and doubled quotes, and falls back to the file name as source', async () => {
    const file = write(
      'feed.csv',
      [
        'indicator,description,source',
        '202.114.4.119,"NFS server, patient data on 515",CISA ICSMA-25-030-01',
        '"202.114.4.0/24","block the ""whole"" /24",',
        '2001:db8::/32,plain description,"Lab, internal"',
      ].join('\n') + '\n',
    );
    const { set, files, problems } = await loadIndicatorFiles([file]);
    expect(problems).toEqual([]);
    expect(files).toEqual([{ file, loaded: 3, skipped: 0 }]);
    expect(find(set, '202.114.4.119')?.value).toEqual({
      value: '202.114.4.119',
      description: 'NFS server, patient data on 515',
      source: 'CISA ICSMA-25-030-01',
      file,
      line: 2,
      exact: true,
    });
    expect(find(set, '202.114.4.1')?.value).toMatchObject({ description: 'block the "whole" /24', source: 'feed.csv', line: 3 });
    expect(find(set, '2001:db8::5')?.value).toMatchObject({ source: 'Lab, internal', line: 4 });
  });

  it('reports malformed records with the line they start on, counting lines inside quoted fields', async () => {
    const file = write(
      'bad.csv',
      [
        'indicator,description,source',
        '10.0.0.1,"a description',
        'that spans two lines",feed',
        'bogus,x,y',
        '# a comment',
        ',no indicator,y',
        '10.0.0.2,"closed" trailing,y',
        '10.0.0.3,ok,y',
      ].join('\n'),
    );
    const { set, files, problems } = await loadIndicatorFiles([file]);
    expect(problems).toEqual([
      `${file}:4: not an IP address or CIDR: "bogus"`,
      `${file}:6: no indicator in the record`,
      `${file}:7: text after a closing quote`,
    ]);
    expect(files).toEqual([{ file, loaded: 2, skipped: 3 }]);
    expect(find(set, '10.0.0.1')?.value).toMatchObject({ description: 'a description that spans two lines', line: 2 });
    expect(find(set, '10.0.0.3')?.value.line).toBe(8);
    expect(find(set, '10.0.0.2')).toBeNull();
  });

  it('takes columns by header name, and without a header reads indicator,description,source', async () => {
    const reordered = write('a.csv', 'source,indicator,note,description\nfeed A,192.0.2.1,ignored,first\n');
    const headerless = write('b.csv', '192.0.2.2,second,feed B\r\n192.0.2.3\r\n');
    const { set, problems } = await loadIndicatorFiles([reordered, headerless]);
    expect(problems).toEqual([]);
    expect(find(set, '192.0.2.1')?.value).toMatchObject({ description: 'first', source: 'feed A', line: 2 });
    expect(find(set, '192.0.2.2')?.value).toMatchObject({ description: 'second', source: 'feed B', line: 1 });
    expect(find(set, '192.0.2.3')?.value).toMatchObject({ description: '', source: 'b.csv', line: 2 });
  });

  it('reports an unterminated quote at the line where it opened, and reads on from the next line', () => {
    const records = [...csvRecords('a,b\n1.2.3.4,"open\n5.6.7.8,after\n')];
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'], error: null },
      { line: 2, fields: ['1.2.3.4'], error: 'unterminated quoted field' },
      { line: 3, fields: ['5.6.7.8', 'after'], error: null },
    ]);
  });

  it('one stray quote costs one line, not the rest of the list', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => `198.51.${Math.floor(i / 250)}.${i + 1},host ${i + 1}`);
    rows[1] = '198.51.0.2,"a quote that never closes';
    const file = write('stray.csv', `indicator,description\n${rows.join('\n')}\n`);
    const { set, files, problems } = await loadIndicatorFiles([file]);
    expect(problems).toEqual([`${file}:3: unterminated quoted field`]);
    expect(files).toEqual([{ file, loaded: 199, skipped: 1 }]);
    expect(find(set, '198.51.0.200')?.value.line).toBe(201);
    expect(find(set, '198.51.0.2')).toBeNull();
  });
});

describe('STIX bundles', () => {
  const indicator = (id: string, pattern: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${id}`,
    created: '2025-01-30T00:00:00.000Z',
    modified: '2025-01-30T00:00:00.000Z',
    pattern,
    pattern_type: 'stix',
    valid_from: '2025-01-30T00:00:00Z',
    ...extra,
  });

  it('loads IP indicators, OR patterns and CIDRs, and skips the rest', async () => {
    const bundle = {
      type: 'bundle',
      id: 'bundle--1',
      objects: [
        { type: 'identity', id: 'identity--cisa', name: 'CISA', identity_class: 'organization' },
        indicator('a', "[ipv4-addr:value = '202.114.4.119']", { name: 'CMS8000 backdoor', description: 'NFS mount target', created_by_ref: 'identity--cisa' }),
        indicator('b', "[ipv4-addr:value = '198.51.100.7' OR ipv6-addr:value = '2001:db8::7'] OR [ipv4-addr:value ISSUBSET '203.0.113.0/24']", {
          name: 'Two hosts and a block',
          external_references: [{ url: 'https://example.org' }, { source_name: 'Vendor feed' }],
        }),
        indicator('c', "[domain-name:value = 'evil.example']"),
        indicator('d', "[ipv4-addr:value = '192.0.2.66']", { revoked: true }),
        { type: 'relationship', id: 'relationship--1', relationship_type: 'indicates' },
        indicator('e', "[ipv6-addr:value = '2001:db8:bad::/48']", { created_by_ref: 'identity--unknown' }),
        indicator('f', 'alert tcp any any -> any 515', { pattern_type: 'snort' }),
        indicator('g', "[ipv4-addr:value = '192.0.2.77']", { pattern_type: undefined }),
      ],
    };
    const file = write('feed.json', JSON.stringify(bundle));
    const { set, files, problems } = await loadIndicatorFiles([file]);
    expect(problems).toEqual([]);
    // Loaded: a, b (three values), e, g. Skipped: identity, c, d, relationship, f.
    expect(files).toEqual([{ file, loaded: 6, skipped: 5 }]);
    expect(find(set, '202.114.4.119')?.value).toEqual({
      value: '202.114.4.119',
      description: 'CMS8000 backdoor: NFS mount target',
      source: 'CISA',
      file,
      line: 1,
      exact: true,
    });
    expect(find(set, '198.51.100.7')?.value).toMatchObject({ description: 'Two hosts and a block', source: 'Vendor feed', line: 2 });
    expect(find(set, '2001:db8::7')?.value.exact).toBe(true);
    expect(find(set, '203.0.113.200')?.value).toMatchObject({ value: '203.0.113.0/24', exact: false, line: 2 });
    expect(find(set, '192.0.2.66')).toBeNull();
    expect(find(set, '2001:db8:bad::1')?.value).toMatchObject({ source: 'identity--unknown', line: 6 });
    expect(find(set, '192.0.2.77')?.value).toMatchObject({ source: 'feed.json', line: 8 });
  });

  it('reports unusable IP patterns and bad values by object index and id, loading the rest', async () => {
    const bundle = {
      type: 'bundle',
      id: 'bundle--2',
      objects: [
        indicator('x', "[ipv4-addr:value = '10.0.0.1' AND network-traffic:dst_port = 515]"),
        indicator('y', "[ipv4-addr:value = '999.1.1.1' OR ipv4-addr:value = '10.0.0.2']"),
        indicator('z', "[ipv4-addr:value = '2001:db8::1']"),
        'not an object',
        indicator('w', "[ipv4-addr:value = '10.0.0.3']"),
      ],
    };
    const file = write('mixed.json', JSON.stringify(bundle, null, 2));
    const { set, files, problems } = await loadIndicatorFiles([file]);
    expect(problems).toEqual([
      `${file}: objects[0] (indicator--x): unsupported IP pattern: "[ipv4-addr:value = '10.0.0.1' AND network-traffic:dst_port = 515]"`,
      `${file}: objects[1] (indicator--y): not an ipv4-addr address or CIDR: "999.1.1.1"`,
      `${file}: objects[2] (indicator--z): not an ipv4-addr address or CIDR: "2001:db8::1"`,
      `${file}: objects[3]: not an object`,
    ]);
    expect(files).toEqual([{ file, loaded: 2, skipped: 4 }]);
    expect(find(set, '10.0.0.2')?.value.line).toBe(1);
    expect(find(set, '10.0.0.3')?.value.line).toBe(4);
    expect(find(set, '10.0.0.1')).toBeNull();
  });

  it('reports bad JSON once, naming the file, and a non-bundle once', async () => {
    const broken = write('broken.json', '{"type":"bundle","objects":[{"type":"indicator",');
    const notBundle = write('array.json', '[]');
    const { set, files, problems } = await loadIndicatorFiles([broken, notBundle]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(new RegExp(`^${escape(broken)}: not valid JSON: `));
    expect(problems[1]).toBe(`${notBundle}: not a STIX bundle (expected {"type":"bundle","objects":[...]})`);
    expect(files).toEqual([
      { file: broken, loaded: 0, skipped: 0 },
      { file: notBundle, loaded: 0, skipped: 0 },
    ]);
    expect(set.size).toBe(0);
  });

  it('parses the pattern shapes it supports and refuses the others', () => {
    expect(parseStixPattern("[ipv4-addr:value = '1.2.3.4']")).toEqual({ kind: 'ip', comparisons: [{ objectType: 'ipv4-addr', value: '1.2.3.4' }] });
    expect(parseStixPattern("[ipv6-addr:value = 'a\\'b']")).toEqual({ kind: 'ip', comparisons: [{ objectType: 'ipv6-addr', value: "a'b" }] });
    expect(parseStixPattern("[ipv4-addr:value = '1.2.3.4'] OR [ipv4-addr:value = '5.6.7.8']").kind).toBe('ip');
    expect(parseStixPattern("[file:hashes.MD5 = 'abc']").kind).toBe('other');
    for (const p of [
      "[ipv4-addr:value != '1.2.3.4']",
      "[ipv4-addr:value = '1.2.3.4'] AND [ipv4-addr:value = '5.6.7.8']",
      "[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS",
      "[ipv4-addr:value MATCHES '^1\\\\.']",
      "[ipv4-addr:value = '1.2.3.4'",
      "[ipv4-addr:value = '1.2.3.4]",
      "[network-traffic:dst_ref.value = '1.2.3.4' OR ipv4-addr:value = '5.6.7.8']",
    ]) {
      expect(parseStixPattern(p).kind, p).toBe('unsupported');
    }
  });
});

describe('directories', () => {
  it('loads every list file in name order, ignoring other files; the first file wins a duplicate', async () => {
    write('b.txt', '192.0.2.1 from b\n');
    write('a.csv', 'indicator,description,source\n192.0.2.1,from a,feed\n');
    write('c.json', JSON.stringify({ type: 'bundle', objects: [] }));
    write('notes.md', '192.0.2.99\n');
    write('d.list', '192.0.2.4\n');
    mkdirSync(join(dir, 'sub.txt'));
    const result = await loadIndicatorDir(dir);
    expect(result.files.map((f) => f.file)).toEqual(['a.csv', 'b.txt', 'c.json', 'd.list'].map((n) => join(dir, n)));
    expect(result.problems).toEqual([]);
    expect(find(result.set, '192.0.2.1')?.value.description).toBe('from a');
    expect(find(result.set, '192.0.2.99')).toBeNull();
    expect(find(result.set, '192.0.2.4')).not.toBeNull();
  });

  it('gives an empty set and no problems for an empty directory', async () => {
    const result = await loadIndicatorDir(dir);
    expect(result.files).toEqual([]);
    expect(result.problems).toEqual([]);
    expect(result.set.size).toBe(0);
    expect(find(result.set, '202.114.4.119')).toBeNull();
  });

  it('reports a directory that cannot be read', async () => {
    const missing = join(dir, 'nope');
    const result = await loadIndicatorDir(missing);
    expect(result.problems).toEqual([`${missing}: cannot read indicator directory: ENOENT`]);
    expect((await loadIndicatorFiles([])).set.size).toBe(0);
  });
});

describe('shipped lists', () => {
  it('flag the Contec CMS8000 backdoor server, its HL7 server and the whole /24', async () => {
    const result = await loadIndicatorDir(join(repoRoot, 'rules', 'indicators'));
    expect(result.problems).toEqual([]);
    const contec = result.files.find((f) => f.file.endsWith('contec-cms8000.csv'));
    expect(contec).toMatchObject({ loaded: 3, skipped: 0 });
    const nfs = find(result.set, '202.114.4.119')!;
    expect(nfs.exact).toBe(true);
    expect(nfs.value.description).toMatch(/202\.114\.4\.119:\/pm/);
    expect(nfs.value.description).toMatch(/TCP 515/);
    const hl7 = find(result.set, '202.114.4.120')!;
    expect(hl7.exact).toBe(true);
    expect(hl7.value.description).toMatch(/HL7.*511/);
    const block = find(result.set, '202.114.4.1')!;
    expect(block.value).toMatchObject({ value: '202.114.4.0/24', exact: false, source: 'CISA ICSMA-25-030-01' });
    expect(find(result.set, '202.114.5.1')).toBeNull();
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
