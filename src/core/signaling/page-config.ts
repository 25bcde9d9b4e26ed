/**
 * What the signal server tells its browser page beyond the signaling itself,
 * at `GET /config.json` on the page's own origin: the server's STUN, so that
 * a page on a real network (a phone on Wi-Fi or mobile data) gathers
 * server-reflexive candidates as the CLI does (the CLI points STUN at the
 * signal server's port number by default; the page cannot guess that port
 * behind a reverse proxy, which serves it on 443 while STUN stays on the
 * signal server's own UDP port).
 *
 *   { "stun": ["stun:signal.example.org:7070"] }    or {} without STUN
 */
import { parseJsonObject } from '../json.js';
import { bad, str } from './fields.js';

export const PAGE_CONFIG_PATH = '/config.json';

export interface PageConfig {
  /** `stun:host:port` URLs; empty when the server answers no STUN. */
  stun: string[];
}

/** One URL, as the server writes it: a hostname or IP literal and a port; nothing a browser would misread. */
const STUN_URL = /^stun:(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):\d{1,5}$/;
/** The server sends one; a few leave room for more, none for a flood. */
const MAX_STUN_URLS = 4;
const MAX_STUN_URL_BYTES = 300;

export function parsePageConfig(raw: unknown): PageConfig {
  const obj = parseJsonObject(raw, 'BAD_MESSAGE', 'the page configuration');
  if (obj.stun === undefined) return { stun: [] };
  if (!Array.isArray(obj.stun) || obj.stun.length > MAX_STUN_URLS) {
    throw bad(`field "stun" must list at most ${MAX_STUN_URLS} URLs`);
  }
  return {
    stun: obj.stun.map((url: unknown) => {
      const value = str({ url }, 'url', MAX_STUN_URL_BYTES);
      if (!STUN_URL.test(value))
        throw bad(`field "stun" holds ${JSON.stringify(value)}, not a stun:host:port URL`);
      return value;
    }),
  };
}

/**
 * The server's STUN URL for a browser that reached it under `hostHeader`
 * (the Host it asked for, port and all): that host, and the UDP port STUN
 * answers on; undefined if the Host is not a plain hostname or IP literal.
 */
export function stunUrlFor(hostHeader: string | undefined, udpPort: number): string | undefined {
  const host = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(hostHeader ?? '')?.[1] ?? '';
  const url = `stun:${host}:${udpPort}`;
  return STUN_URL.test(url) ? url : undefined;
}
