/**
 * Preloaded into the bench's peers (`node --import`): counts the process's
 * full (mark-compact) garbage collections and writes `gc-major N` to stderr
 * at exit. A transfer's CPU per GiB depends on how often V8 runs one, which
 * depends on the size of the live heap (scripts/bundle.ts), so the bench
 * shows the count: a build whose heap has grown past that size shows up here.
 */
import type { PerformanceEntry } from 'node:perf_hooks';
import { constants, PerformanceObserver } from 'node:perf_hooks';

let major = 0;
function count(entries: PerformanceEntry[]): void {
  for (const entry of entries) {
    const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
    if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
  }
}
const observer = new PerformanceObserver((list) => count(list.getEntries()));
observer.observe({ entryTypes: ['gc'] });
process.on('exit', () => {
  count(observer.takeRecords());
  process.stderr.write(`gc-major ${major}\n`);
});
