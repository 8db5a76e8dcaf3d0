/**
 * A FIFO whose reader stopped reading, as a log shipper that hung: the reader opens it, shrinks
 * its buffer to one page (F_SETPIPE_SZ) and never reads, so writes to it soon stay pending. The
 * writer may get in first (its open returns once the reader's has, and a loaded machine may run it
 * before the shrink): a pipe cannot shrink below what it holds (EBUSY), so the reader then reads
 * away what came first and shrinks it empty.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

const STALLED_READER = `
import errno, fcntl, os, sys, time
# Opened without waiting for a writer; the writer's open then returns, and may write at once.
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
while True:
    try:
        fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ
        break
    except OSError as e:
        # EBUSY: the writer was quicker and the pipe holds more than a page; empty it, try again.
        if e.errno != errno.EBUSY:
            raise
        try:
            os.read(fd, 1 << 20)
        except BlockingIOError:
            pass
print('ready', flush=True)
time.sleep(600)
`;

/**
 * Makes the FIFO at `path` and starts its reader. `ready` resolves once a writer has opened it
 * and its buffer is one page (opening a FIFO waits for both ends). Kill `reader` when done.
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
