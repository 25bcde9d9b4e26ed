/**
 * CPU time of processes from Linux /proc, for the benchmarks: what a process
 * (the signal server), or each kind of Chromium process (the tab's renderer,
 * the network service that owns its sockets, the browser), spent while a
 * transfer ran. On a machine whose cores they all share, the sum per GiB says
 * whether a rate is bound by CPU rather than by anyone's protocol.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

/** User + system CPU seconds of `pid` so far, its threads included, not its children (100 ticks a second). */
export async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 on.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * CPU seconds so far of every running process whose executable is named
 * `name` (Debian's /usr/bin/chromium is a script that runs
 * /usr/lib/chromium/chromium: the name matches both ways), summed by kind: its `--type=` (and `--utility-sub-type=`),
 * or "browser" for the main process. Chromium's processes only live as long
 * as the browser, so take it twice, around what is measured.
 */
export async function cpuByKind(name: string): Promise<Map<string, number>> {
  const kinds = new Map<string, number>();
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    // A zygote's children rewrite their command line as one string, spaces and all.
    const args = cmdline.split(/[\0 ]/);
    if (path.basename(args[0] ?? '') !== name) continue;
    const type = args.find((a) => a.startsWith('--type='))?.slice('--type='.length) ?? 'browser';
    const sub = args.find((a) => a.startsWith('--utility-sub-type='))?.slice('--utility-sub-type='.length);
    const kind = sub === undefined ? type : `${type} ${sub}`;
    const seconds = await processCpuSeconds(Number(entry)).catch(() => 0);
    kinds.set(kind, (kinds.get(kind) ?? 0) + seconds);
  }
  return kinds;
}

/** What each kind spent between two cpuByKind readings, largest first, those over `floor` seconds. */
export function cpuSpent(
  before: Map<string, number>,
  after: Map<string, number>,
  floor = 0.05,
): [string, number][] {
  return [...after]
    .map(([kind, s]): [string, number] => [kind, s - (before.get(kind) ?? 0)])
    .filter(([, s]) => s > floor)
    .sort((a, b) => b[1] - a[1]);
}
