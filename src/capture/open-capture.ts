import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { FileInput, RegularFileInput, StreamInput, type ByteInput } from './byte-input.js';
import { GzipInput } from './gzip-input.js';
import { ByteWindow, FILE_READ_AHEAD } from './byte-window.js';
import type { PacketSource } from './capture-reader.js';
import { CaptureError } from './errors.js';
import { PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC, PcapReader } from './pcap-reader.js';
import { PCAPNG_SHB, PcapngReader } from './pcapng-reader.js';

export interface OpenOptions {
  /** Read buffer size; tests use small ones to exercise records that straddle reads. */
  chunkSize?: number;
  /**
   * Chunks read ahead of the parser (files only). Each costs a chunk of memory, so a replay that
   * merges several captures, all open at once, reads one ahead in each.
   */
  readAhead?: number;
}

export interface OpenedCapture {
  source: PacketSource;
  /** Size of the file on disk, when it is a file (for progress). */
  sizeOnDisk: number | null;
  compressed: boolean;
}

/** Chunks to read ahead in each of `captures` files read together: all are open at once. */
export function readAheadFor(captures: number): number {
  return captures > 1 ? 1 : FILE_READ_AHEAD;
}

/**
 * Opens a pcap or pcapng capture, gzip-compressed or not (decided by content, not by name).
 * `-` reads standard input. Throws CaptureError when the input is not a capture at all.
 */
export async function openCapture(path: string, options: OpenOptions = {}): Promise<OpenedCapture> {
  const name = path === '-' ? '<stdin>' : path;
  let input: ByteInput;
  let sizeOnDisk: number | null = null;
  if (path === '-') {
    input = new StreamInput(process.stdin);
  } else {
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw new CaptureError(name, null, `cannot open: ${(err as Error).message.replace(/^[A-Z]+: /, '')}`);
    }
    const stat = await handle.stat();
    if (stat.isDirectory()) {
      await handle.close();
      throw new CaptureError(name, null, 'is a directory');
    }
    // A pipe or FIFO (`replay <(zcat x.pcap.gz)`) has no size and cannot be read by position.
    if (stat.isFile()) {
      sizeOnDisk = stat.size;
      input = new RegularFileInput(handle);
    } else {
      input = new FileInput(handle);
    }
  }
  let window = new ByteWindow(input, options.chunkSize, options.readAhead);
  let compressed = false;
  try {
    if ((await window.ensure(2)) && window.buf[window.start] === 0x1f && window.buf[window.start + 1] === 0x8b) {
      compressed = true;
      const raw = window;
      // A regular file can be read again to recover the bytes before damage; closing the capture
      // closes the file beneath the decompressor.
      const reread = sizeOnDisk === null ? null : () => createReadStream(path);
      window = new ByteWindow(new GzipInput(raw.remaining(), reread, () => raw.close()), options.chunkSize);
    }
    return { source: await detectFormat(name, window), sizeOnDisk, compressed };
  } catch (err) {
    await window.close().catch(() => undefined);
    if (err instanceof CaptureError) throw err;
    throw new CaptureError(name, window.position, `read failed: ${(err as Error).message}`);
  }
}

async function detectFormat(name: string, window: ByteWindow): Promise<PacketSource> {
  if (!(await window.ensure(4))) {
    throw new CaptureError(name, 0, window.available === 0 ? 'empty file' : 'too short to be a capture');
  }
  const le = window.buf.readUInt32LE(window.start);
  const be = window.buf.readUInt32BE(window.start);
  if (be === PCAPNG_SHB) return new PcapngReader(name, window);
  if ([PCAP_MAGIC_USEC, PCAP_MAGIC_NSEC].some((m) => m === le || m === be)) return new PcapReader(name, window);
  throw new CaptureError(name, 0, `not a pcap or pcapng capture (starts with 0x${be.toString(16).padStart(8, '0')})`);
}
