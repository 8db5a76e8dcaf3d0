/**
 * The on-disk spool of a network output: records its server could not take yet, in order, in a
 * directory of segment files capped in total size. Each segment is named by the sequence number
 * of its first record, so a segment written later with older records (what was queued in memory
 * when the server went away) still sorts first. A line is `SEQ KIND SEVERITY TIME_MS JSON`.
 *
 * When the cap is reached, alerts make room by removing flow, stats and inventory records from
 * the oldest segments; nothing else is ever removed before it is sent. What has been sent from
 * the head segment is recorded in `head` so that a restart does not send it again.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** One record as a network output carries it. */
export interface Envelope {
  /** Order of the record among everything this output was given (across restarts too). */
  seq: number;
  /** The EVE event type: alert, flow, stats, inventory. */
  kind: string;
  /** The alert's severity (1 high to 3 low); null for other records. */
  severity: number | null;
  /** When the record was made (wall clock). */
  timeMs: number;
  /** The EVE JSON record, one line. */
  json: string;
}

export const isAlert = (e: Envelope): boolean => e.kind === 'alert';

/** Size of a segment before the next one starts. */
const SEGMENT_BYTES = 4 * 1024 * 1024;
const SEGMENT = /^seg-(\d{16})\.log$/;

interface Segment {
  file: string;
  bytes: number;
  records: number;
  /** Bytes of records other than alerts: what can be removed to make room for alerts. */
  otherBytes: number;
}

export function encodeLine(e: Envelope): string {
  return `${e.seq} ${e.kind} ${e.severity ?? '-'} ${e.timeMs} ${e.json}\n`;
}

export function decodeLine(line: string): Envelope | null {
  const parts = /^(\d+) (\S+) (\d|-) (\d+) (.*)$/.exec(line);
  if (parts === null) return null;
  return { seq: Number(parts[1]), kind: parts[2], severity: parts[3] === '-' ? null : Number(parts[3]), timeMs: Number(parts[4]), json: parts[5] };
}

/**
 * Checks that the directory exists or can be made, that a file can be written in it, and that no
 * running process (this one included) spools there; throws the system's error, or one saying who
 * holds it.
 */
export function checkSpoolDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const probe = join(dir, `.probe-${process.pid}`);
  writeFileSync(probe, '');
  rmSync(probe);
  const holder = lockHolder(dir);
  if (holder !== null) throw new Error(`in use by process ${holder}`);
}

/** The live process whose lock is on the directory, if any; a lock left by a process that died is stale. */
function lockHolder(dir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'lock'), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (pid === process.pid) return pid;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

export class Spool {
  /** Oldest first. */
  private readonly segments: Segment[] = [];
  private totalBytes = 0;
  private totalRecords = 0;
  /** The open tail segment, appended to. */
  private tailFd: number | null = null;
  /** The head segment's records, read for sending, and how many of them are sent. */
  private head: { file: string; records: Envelope[]; done: number } | null = null;
  /** The first sequence number free for a new record. */
  readonly nextSeq: number;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {
    checkSpoolDir(dir);
    // Two writers would send the same records twice, or lose each other's.
    writeFileSync(join(dir, 'lock'), `${process.pid}\n`, { mode: 0o600 });
    let lastSeq = -1;
    const names = readdirSync(dir)
      .filter((n) => SEGMENT.test(n))
      .sort();
    for (const name of names) {
      const records = this.readSegment(name);
      if (records.length === 0) {
        rmSync(join(dir, name), { force: true });
        continue;
      }
      const bytes = statSync(join(dir, name)).size;
      const otherBytes = records.filter((r) => !isAlert(r)).reduce((n, r) => n + Buffer.byteLength(encodeLine(r)), 0);
      this.segments.push({ file: name, bytes, records: records.length, otherBytes });
      this.totalBytes += bytes;
      this.totalRecords += records.length;
      lastSeq = Math.max(lastSeq, records[records.length - 1].seq);
    }
    const done = this.readHeadMark();
    if (done !== null && this.segments.length > 0 && this.segments[0].file === done.file) {
      const first = this.segments[0];
      this.totalRecords -= Math.min(done.sent, first.records);
      this.head = { file: first.file, records: this.readSegment(first.file), done: Math.min(done.sent, first.records) };
    }
    this.nextSeq = lastSeq + 1;
  }

  /** Records in the spool not yet sent. */
  get records(): number {
    return this.totalRecords;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  isEmpty(): boolean {
    return this.totalRecords === 0;
  }

  /**
   * Appends a record at the tail. Returns false when it does not fit: for an alert, only after
   * removing every other kind of record that could make room.
   */
  append(e: Envelope): boolean {
    const line = encodeLine(e);
    const size = Buffer.byteLength(line);
    if (this.totalBytes + size > this.maxBytes && !(isAlert(e) && this.makeRoom(this.totalBytes + size - this.maxBytes))) return false;
    let tail = this.segments[this.segments.length - 1];
    if (tail === undefined || this.tailFd === null || tail.bytes + size > SEGMENT_BYTES || tail.file === this.head?.file) {
      this.closeTail();
      tail = { file: segmentName(e.seq), bytes: 0, records: 0, otherBytes: 0 };
      this.segments.push(tail);
      this.tailFd = openSync(join(this.dir, tail.file), 'a', 0o600);
    }
    writeSync(this.tailFd, line);
    tail.bytes += size;
    tail.records++;
    if (!isAlert(e)) tail.otherBytes += size;
    this.totalBytes += size;
    this.totalRecords++;
    return true;
  }

  /**
   * Writes records older than everything in the spool (what was waiting in memory) as a segment
   * of their own, before the others. Returns the records that did not fit.
   */
  prepend(records: readonly Envelope[]): Envelope[] {
    if (records.length === 0) return [];
    const kept: string[] = [];
    const lost: Envelope[] = [];
    let bytes = 0;
    let otherBytes = 0;
    for (const e of records) {
      const line = encodeLine(e);
      const size = Buffer.byteLength(line);
      if (this.totalBytes + bytes + size > this.maxBytes && !(isAlert(e) && this.makeRoom(this.totalBytes + bytes + size - this.maxBytes))) {
        lost.push(e);
        continue;
      }
      kept.push(line);
      bytes += size;
      if (!isAlert(e)) otherBytes += size;
    }
    if (kept.length === 0) return lost;
    const file = segmentName(records[0].seq);
    writeFileSync(join(this.dir, file), kept.join(''), { mode: 0o600 });
    // Before the head being sent, if any, it cannot be: that one holds older records still.
    const at = this.head !== null ? 1 : 0;
    this.segments.splice(at, 0, { file, bytes, records: kept.length, otherBytes });
    this.totalBytes += bytes;
    this.totalRecords += kept.length;
    return lost;
  }

  /** Up to `max` of the oldest records not yet sent, without removing them. */
  peek(max: number): Envelope[] {
    if (this.isEmpty()) return [];
    if (this.head === null || this.head.done >= this.head.records.length) {
      if (this.head !== null) this.dropHead();
      const first = this.segments[0];
      if (first === undefined) return [];
      if (first.file === this.segments[this.segments.length - 1].file) this.closeTail();
      this.head = { file: first.file, records: this.readSegment(first.file), done: 0 };
    }
    return this.head.records.slice(this.head.done, this.head.done + max);
  }

  /** The first `n` records that `peek` gave were delivered. */
  commit(n: number): void {
    const head = this.head!;
    head.done += n;
    this.totalRecords -= n;
    if (head.done >= head.records.length) this.dropHead();
    else this.writeHeadMark(head.file, head.done);
  }

  /** Makes what was appended durable and closes the files. */
  close(): void {
    if (this.tailFd !== null) fsyncSync(this.tailFd);
    this.closeTail();
    rmSync(join(this.dir, 'lock'), { force: true });
  }

  private dropHead(): void {
    const head = this.head!;
    this.head = null;
    const i = this.segments.findIndex((s) => s.file === head.file);
    if (i >= 0) {
      this.totalBytes -= this.segments[i].bytes;
      this.segments.splice(i, 1);
    }
    rmSync(join(this.dir, head.file), { force: true });
    rmSync(join(this.dir, 'head'), { force: true });
  }

  /** Removes records other than alerts, oldest segment first, until `needed` bytes are free. */
  private makeRoom(needed: number): boolean {
    let freed = 0;
    for (const seg of this.segments) {
      if (freed >= needed) break;
      if (seg.otherBytes === 0 || seg.file === this.head?.file) continue;
      if (seg === this.segments[this.segments.length - 1]) this.closeTail();
      const path = join(this.dir, seg.file);
      const alerts = this.readSegment(seg.file).filter(isAlert);
      const text = alerts.map(encodeLine).join('');
      writeFileSync(path + '.tmp', text, { mode: 0o600 });
      renameSync(path + '.tmp', path);
      const bytes = Buffer.byteLength(text);
      freed += seg.bytes - bytes;
      this.totalBytes -= seg.bytes - bytes;
      this.totalRecords -= seg.records - alerts.length;
      seg.bytes = bytes;
      seg.records = alerts.length;
      seg.otherBytes = 0;
    }
    return freed >= needed;
  }

  private closeTail(): void {
    if (this.tailFd !== null) closeSync(this.tailFd);
    this.tailFd = null;
  }

  private readSegment(name: string): Envelope[] {
    const path = join(this.dir, name);
    if (!existsSync(path)) return [];
    const records: Envelope[] = [];
    // A line cut by a crash mid-write is left out.
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const e = line === '' ? null : decodeLine(line);
      if (e !== null) records.push(e);
    }
    return records;
  }

  private readHeadMark(): { file: string; sent: number } | null {
    try {
      const [file, sent] = readFileSync(join(this.dir, 'head'), 'utf8').trim().split(' ');
      return SEGMENT.test(file) && /^\d+$/.test(sent) ? { file, sent: Number(sent) } : null;
    } catch {
      return null;
    }
  }

  private writeHeadMark(file: string, sent: number): void {
    writeFileSync(join(this.dir, 'head.tmp'), `${file} ${sent}\n`);
    renameSync(join(this.dir, 'head.tmp'), join(this.dir, 'head'));
  }
}

function segmentName(seq: number): string {
  return `seg-${String(seq).padStart(16, '0')}.log`;
}
