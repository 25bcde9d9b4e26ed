/**
 * `GET /config.json` (core/signaling/page-config.ts): what the page needs to
 * know of this server beyond signaling, its STUN, named under the host the
 * browser asked for and the UDP port STUN answers on.
 */
import type http from 'node:http';
import type { PageConfig } from '../../core/signaling/page-config.js';
import { PAGE_CONFIG_PATH, stunUrlFor } from '../../core/signaling/page-config.js';
import { answerText, SECURITY_HEADERS } from './headers.js';

export function isPageConfig(req: http.IncomingMessage): boolean {
  return (req.url ?? '').split('?', 1)[0] === PAGE_CONFIG_PATH;
}

/** Answer with the configuration; `stunPort` undefined: this server answers no STUN. */
export function answerPageConfig(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  stunPort: number | undefined,
): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    answerText(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
    return;
  }
  const stun = stunPort === undefined ? undefined : stunUrlFor(req.headers.host, stunPort);
  const config: PageConfig = { stun: stun === undefined ? [] : [stun] };
  const body = JSON.stringify(config);
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
