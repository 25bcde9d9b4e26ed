/** The page's elements, and how figures and failures read on it. */
import type { PeerlaneError } from '../core/errors.js';
import { errorLine } from '../core/errors.js';
import { formatBytes } from '../core/format.js';

export function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
}

export function show(id: string, visible = true): void {
  el(id).hidden = !visible;
}

export function setText(id: string, text: string): void {
  el(id).textContent = text;
}

/** Replace a list's items with `items`, each as text (never HTML: names are the peer's). */
export function fillList(id: string, items: readonly (string | Node)[]): void {
  const list = el(id);
  list.replaceChildren(
    ...items.map((item) => {
      const li = document.createElement('li');
      li.append(item);
      return li;
    }),
  );
}

/** The CLI's one line for a failure (`CODE: what happened. Next: what to do.`), without the program name. */
export function failureText(err: PeerlaneError): string {
  return errorLine(err, { program: 'peer' }).replace(/^peer: /, '');
}

/** Rate and time left, from bytes moved since `since` (ms). */
export class Meter {
  private readonly since = performance.now();

  line(bytes: number, total: number | null, moved: number): string {
    const seconds = (performance.now() - this.since) / 1000;
    const rate = seconds > 0 ? moved / seconds : 0;
    const done = `${formatBytes(bytes)}${total === null ? '' : ` of ${formatBytes(total)}`}`;
    if (rate <= 0) return done;
    const left = total === null ? '' : `, ${eta((total - bytes) / rate)} left`;
    return `${done} at ${formatBytes(rate)}/s${left}`;
  }
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A screen wake lock while a transfer runs, where the browser has one; released after. */
export async function keepAwake(): Promise<() => void> {
  try {
    const lock = await navigator.wakeLock?.request('screen');
    return () => void lock?.release().catch(() => {});
  } catch {
    return () => {};
  }
}

export { formatBytes };
