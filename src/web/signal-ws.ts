/**
 * The signal client's connection in a browser: a WebSocket to the page's own
 * server at `/signal`, carrying the same NDJSON as a TCP client. Each line we
 * send is one message; the server's lines come back one per text message.
 */
import { PeerlaneError } from '../core/errors.js';
import type { SignalDialer, SignalTransport } from '../core/signaling/client.js';
import { SignalClient } from '../core/signaling/client.js';
import { SIGNAL_WS_PATH } from '../core/signaling/protocol.js';

/** As for TCP (signaling/socket.ts): a live server answers an upgrade well within this. */
const CONNECT_TIMEOUT_MS = 5_000;

/** The page's own server: same origin, wss: under https:. */
export function signalUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${SIGNAL_WS_PATH}`;
}

export function connectSignalWs(url: string): Promise<SignalClient> {
  return SignalClient.connect(webSocketDialer(url));
}

export function webSocketDialer(url: string): SignalDialer {
  return () =>
    new Promise<SignalTransport>((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      const unreachable = (why: string): void => {
        clearTimeout(timer);
        ws.close();
        reject(new PeerlaneError('SIGNAL_UNREACHABLE', `cannot reach the signal server at ${url}: ${why}`));
      };
      const timer = setTimeout(() => unreachable('no answer'), CONNECT_TIMEOUT_MS);
      ws.onerror = () => unreachable('the connection failed');
      ws.onopen = () => {
        clearTimeout(timer);
        resolve(wsTransport(ws));
      };
    });
}

function wsTransport(ws: WebSocket): SignalTransport {
  const encoder = new TextEncoder();
  let onData: ((chunk: Uint8Array) => void) | undefined;
  let onClose: ((cause: Error | undefined) => void) | undefined;
  let closed = false;
  let failure: Error | undefined;
  ws.onmessage = (e: MessageEvent<string | ArrayBuffer>) => {
    onData?.(typeof e.data === 'string' ? encoder.encode(e.data) : new Uint8Array(e.data));
  };
  ws.onerror = () => {
    failure = new Error('the WebSocket failed');
  };
  ws.onclose = () => {
    if (closed) return;
    closed = true;
    onClose?.(failure);
  };
  return {
    write: (text) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    onData: (handler) => {
      onData = handler;
    },
    onClose: (handler) => {
      onClose = handler;
    },
    close: () => {
      closed = true;
      ws.close();
    },
  };
}
