/**
 * The headers every HTTP answer of the signal server's port carries. The page
 * is static and same-origin with no inline script or style, so the policy can
 * be strict: its own scripts, styles, images and workers, and connections to
 * its own origin only (CSP Level 3 counts ws:/wss: to the same host as 'self').
 * 'wasm-unsafe-eval' lets the page compile WebAssembly, its SHA-256 (web/hasher.ts),
 * and nothing else: JavaScript eval stays forbidden.
 */
import type http from 'node:http';

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<http.OutgoingHttpHeaders> = Object.freeze({
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
});

/** A short plain-text answer (an error, a note), with the security headers. */
export function answerText(
  res: http.ServerResponse,
  status: number,
  text: string,
  extra: http.OutgoingHttpHeaders = {},
): void {
  const body = `${text}\n`;
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
