/** Figures as people read them: the CLI's lines, and the receiver's DISK_FULL message (transfer/disk.ts). */

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  // Compare the rounded figure, so 999,999 B reads 1.0 MB rather than 1000.0 kB.
  while (Math.round(value * 10) / 10 >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
