/**
 * The page's own link with the code in its fragment, as a QR code for a
 * phone's camera: the same link `peer … --qr` prints. Drawn as SVG by
 * `qrcode` and shown as an image (the CSP allows data: images, no inline markup).
 */
import QRCode from 'qrcode';
import { el, show } from './view.js';

/** The link a phone opens: this page, the code after `#` (never sent to the server). */
export function linkFor(code: string): string {
  return `${location.origin}${location.pathname}#${code}`;
}

export function showQr(code: string): void {
  const img = el<HTMLImageElement>('qr');
  const link = linkFor(code);
  QRCode.toString(link, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 })
    .then((svg) => {
      img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
      img.title = link;
      show('qr');
    })
    .catch(() => show('qr', false));
}
