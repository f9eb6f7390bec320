// How big the broker's V8 heap may grow (issue #17: broker RSS ≤ 150 MB with 10,000 grants over 100 jump
// servers). With V8's defaults the young generation keeps 2 × 16 MB committed, and after a burst of
// short-lived objects (the start-up sync of 10,000 grants allocates ≈ 300 MB) the old generation had grown up to
// 4× what survived and stayed committed: 90–136 MB of JS heap for 39 MB live. Measured with the scale bench
// (RSS after a GC, once V8 has given back what it freed; load 6–10 on 2 cores): defaults 146 MB with no grant,
// 180–221 MB at 10,000; with both settings below 118–126 MB and 156–160 MB (JS heap 72–74 MB committed); and
// with passes over every jump server a few syncs at a time (every-jump-host.ts) 119–122 MB and 132–142 MB.
// Neither caps the heap: an old generation that needs more still gets it (no out-of-memory risk), it is only
// collected sooner. The cost is more, smaller collections (Approve → line unchanged within the noise: p50 9.5 →
// 9.1 ms with the young generation at 4 MB, load ≈ 5).
import { setFlagsFromString } from 'node:v8';

/** Node flags the broker's process must be started with (V8 reads them once, when it makes the heap):
 *  package.json's `start`, the Dockerfile's CMD and the scale bench pass them; NODE_OPTIONS takes them too. */
export const BROKER_NODE_FLAGS = ['--max-semi-space-size=4'] as const;

/** The old generation's next collection comes when it has grown by 30 % over what the last one kept (V8's
 *  default: a factor of up to 4 while the heap is judged young). V8 reads it at every full collection, so it
 *  is set in the running broker (`jit-jump start`), whatever started the process. */
export function limitHeapGrowth(): void {
  setFlagsFromString('--heap-growing-percent=30');
}
