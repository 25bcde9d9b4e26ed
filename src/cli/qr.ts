/**
 * `--qr`: a printed code as a link to the signal server's browser page,
 * `<page-url>#<code>`, drawn as a terminal QR code for a phone's camera. The
 * code rides in the fragment, which a browser never sends to a server, and the
 * page claims the nameplate only when its user taps Receive or Send, so a link
 * preview or a scanner's prefetch burns nothing.
 */
import { PeerlaneError } from '../core/errors.js';
import type { SignalAddress } from '../signaling/socket.js';

/**
 * PEERLANE_PAGE_URL / --page-url, else the page the signal server serves on
 * its own port over plain HTTP. Behind TLS or a proxy the user sets it
 * (`https://drop.example.org/`): the signal address does not say how a
 * browser reaches the same server.
 */
export function pageUrl(given: string | undefined, signal: SignalAddress): URL {
  if (given === undefined) {
    const host = signal.host.includes(':') ? `[${signal.host}]` : signal.host;
    return new URL(`http://${host}:${signal.port}/`);
  }
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `--page-url (PEERLANE_PAGE_URL) is not a URL: ${JSON.stringify(given)}`,
    );
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hash !== '' || url.username !== '') {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `--page-url (PEERLANE_PAGE_URL) must be an http:// or https:// address without #fragment or user, not ${JSON.stringify(given)}`,
    );
  }
  return url;
}

/** The page's address with `code` in its fragment. */
export function pageLink(page: URL, code: string): string {
  const link = new URL(page);
  link.hash = code;
  return link.href;
}

/**
 * `link` as the `qrcode` package draws it for a terminal: two rows of modules
 * per line (`small`), so a code fits a phone's camera at a glance. Loaded only
 * when asked for: every other run of `peer` starts without it.
 */
export async function qrBlock(link: string): Promise<string> {
  const { default: QRCode } = await import('qrcode');
  return QRCode.toString(link, { type: 'terminal', small: true });
}
