/**
 * SIGINT and SIGTERM for `wardwatch live`, held from the program's first line: a stop signal that
 * arrives while the program loads, while tcpdump starts or while the rules load is neither lost
 * nor allowed to kill the process before it has written its final stats. Whoever runs the live
 * capture takes the signals (those already received at once) and decides what each means.
 *
 * The launcher and the bundled program are separate bundles, each with its own copy of this
 * module, so the state lives on the process under a global symbol.
 */
const KEY = Symbol.for('wardwatch.stop-signals');

/** `atMs`: when the signal arrived (epoch ms), which for one held at start-up is before it is handed on. */
type StopListener = (signal: NodeJS.Signals, atMs: number) => void;

interface Held {
  received: { signal: NodeJS.Signals; atMs: number }[];
  listener: StopListener | null;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

function held(): Held | undefined {
  return (process as unknown as Record<symbol, Held | undefined>)[KEY];
}

/** Starts holding SIGINT and SIGTERM (once; later calls do nothing). */
export function holdStopSignals(): void {
  if (held() !== undefined) return;
  const state: Held = { received: [], listener: null };
  (process as unknown as Record<symbol, Held>)[KEY] = state;
  const onSignal = (signal: NodeJS.Signals) => {
    if (state.listener !== null) state.listener(signal, Date.now());
    else state.received.push({ signal, atMs: Date.now() });
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
}

/**
 * Hands every stop signal to `listener`: first those received so far, then each as it comes.
 * Holds the signals first when nobody did.
 */
export function takeStopSignals(listener: StopListener): void {
  holdStopSignals();
  const state = held()!;
  state.listener = listener;
  const earlier = state.received.splice(0);
  for (const { signal, atMs } of earlier) listener(signal, atMs);
}
