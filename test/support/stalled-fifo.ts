/**
 * A FIFO whose reader stopped reading, as a log shipper that hung: the reader opens it, shrinks
 * its buffer to one page (F_SETPIPE_SZ) and never reads, so writes to it soon stay pending.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

const STALLED_READER = `
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ
print('ready', flush=True)
time.sleep(600)
`;

/**
 * Makes the FIFO at `path` and starts its reader. `ready` resolves once the reader has it open
 * with a one-page buffer: open the writer after that (wardwatch refuses a FIFO nobody reads).
 * Kill `reader` when done.
 */
export function stalledFifo(path: string): { reader: ChildProcess; ready: Promise<void> } {
  execFileSync('mkfifo', [path]);
  const reader = spawn('python3', ['-c', STALLED_READER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve, reject) => {
    reader.stdout!.once('data', () => resolve());
    reader.once('exit', (code) => reject(new Error(`the FIFO's reader exited with ${code}`)));
  });
  return { reader, ready };
}
