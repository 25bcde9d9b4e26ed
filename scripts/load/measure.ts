/** What the load test reads about processes, and how it summarises samples. */
import fs from 'node:fs';

/** USER_HZ on Linux: the unit of utime and stime in /proc/<pid>/stat. */
const TICKS_PER_SECOND = 100;

export interface ProcUsage {
  cpuSeconds: number;
  rssMB: number;
}

/** CPU time (user + system, all threads) and resident memory of one process, from /proc. */
export function usage(pid: number): ProcUsage {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  const rss = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuSeconds, rssMB: Number(rss?.[1] ?? 0) / 1024 };
}

/** The usage of several processes added up. */
export function total(pids: number[]): ProcUsage {
  return pids
    .map(usage)
    .reduce((s, u) => ({ cpuSeconds: s.cpuSeconds + u.cpuSeconds, rssMB: s.rssMB + u.rssMB }));
}

/** Percent of one core used between two readings `seconds` apart. */
export function cpuPercent(before: ProcUsage, after: ProcUsage, seconds: number): number {
  return round((100 * (after.cpuSeconds - before.cpuSeconds)) / seconds);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** The 1-minute load average, reported with each figure: other work on the machine skews them. */
export function loadAverage(): number {
  return round(Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]), 2);
}
