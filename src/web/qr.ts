/** The page's own link with the code in its fragment, as a QR code for a phone's camera. */
import { el, show } from './view.js';

/** The link a phone opens: this page, the code after `#` (never sent to the server). */
export function linkFor(code: string): string {
  return `${location.origin}${location.pathname}#${code}`;
}

export function showQr(code: string): void {
  const img = el<HTMLImageElement>('qr');
  img.title = linkFor(code);
  show('qr', false);
}
