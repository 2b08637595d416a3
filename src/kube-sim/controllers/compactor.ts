/**
 * Time-based compaction of the watch history, as the API server compacts etcd (`--etcd-compaction-interval`, 5
 * minutes): every `timings.watchHistory` the store forgets the history up to the revision it had at the previous
 * tick, so history is kept between one and two periods, and a watch or a list from an older resourceVersion gets
 * 410 Expired ("too old resource version") and must relist. `watchHistory` 0 turns it off (the store still trims by
 * size); a change of the timing at run time applies from the next tick.
 */
import type { Cancel, SimRuntime } from '../runtime.ts';

/** How often a compactor that is off looks whether the timing was turned on, ms. */
const IDLE_CHECK_MS = 60_000;

/** Starts the compactor; returns its stop function. */
export function startCompactor(runtime: SimRuntime): () => void {
  let previous: number | undefined;
  let cancel: Cancel = () => undefined;
  const tick = (): void => {
    if (runtime.stopped()) return;
    const period = runtime.timings.watchHistory;
    if (period > 0) {
      if (previous !== undefined) runtime.store.compactTo(previous);
      previous = runtime.store.currentRevision();
    } else previous = undefined;
    cancel = runtime.after(period > 0 ? period : IDLE_CHECK_MS, tick);
  };
  const period = runtime.timings.watchHistory;
  if (period > 0) previous = runtime.store.currentRevision();
  cancel = runtime.after(period > 0 ? period : IDLE_CHECK_MS, tick);
  return () => cancel();
}
