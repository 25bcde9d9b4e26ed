/**
 * What one instance tells another about one of its clients, over the shared
 * state's pub/sub (redis-state.ts), a line each (a message may hold several):
 *
 *   p <to> <instance> <client> <sid>
 *                                `to` was paired with that client (the joiner),
 *                                under that session id (protocol.ts)
 *   r <to> <frame>               relay: `frame` is the server's `relay` message
 *                                to write to `to` as is (JSON, so one line)
 *   l <to>                       `to`'s partner left
 *   s <to> <swarm> <frame>       for a swarm member (swarm.ts): `frame` to write
 *                                to `to` as is, if it is still in that swarm
 *
 * A relayed frame is encoded once, by the instance that read it, and written
 * by the other without being parsed again: relays are most of the traffic.
 */
import type { Envelope } from './types.js';

export function encodeEnvelope(envelope: Envelope): string {
  switch (envelope.kind) {
    case 'paired':
      return `p ${envelope.to} ${envelope.from.instance} ${envelope.from.client} ${envelope.sid}${envelope.relay === undefined ? '' : ` ${envelope.relay}`}\n`;
    case 'relay':
      return `r ${envelope.to} ${envelope.frame}`;
    case 'left':
      return `l ${envelope.to}\n`;
    case 'swarm':
      return `s ${envelope.to} ${envelope.swarm} ${envelope.frame}`;
  }
}

/** The envelopes of one message; a line that is not one is skipped (only instances publish here). */
export function decodeEnvelopes(message: string): Envelope[] {
  const out: Envelope[] = [];
  for (let at = 0; at < message.length; ) {
    let end = message.indexOf('\n', at);
    if (end < 0) end = message.length;
    const envelope = decodeLine(message.slice(at, end));
    if (envelope !== undefined) out.push(envelope);
    at = end + 1;
  }
  return out;
}

function decodeLine(line: string): Envelope | undefined {
  const toEnd = line.indexOf(' ', 2);
  const to = Number(line.slice(2, toEnd < 0 ? undefined : toEnd));
  if (!Number.isSafeInteger(to) || line[1] !== ' ') return undefined;
  switch (line[0]) {
    case 'r':
      return toEnd < 0 ? undefined : { to, kind: 'relay', frame: `${line.slice(toEnd + 1)}\n` };
    case 'l':
      return toEnd < 0 ? { to, kind: 'left' } : undefined;
    case 's': {
      const swarmEnd = line.indexOf(' ', toEnd + 1);
      if (toEnd < 0 || swarmEnd < 0) return undefined;
      return {
        to,
        kind: 'swarm',
        swarm: line.slice(toEnd + 1, swarmEnd),
        frame: `${line.slice(swarmEnd + 1)}\n`,
      };
    }
    case 'p': {
      const [instance, client, sid, relay] = line.slice(toEnd + 1).split(' ');
      const id = Number(client);
      if (toEnd < 0 || instance === undefined || !Number.isSafeInteger(id) || !sid) return undefined;
      return { to, kind: 'paired', from: { instance, client: id }, sid, ...(relay ? { relay } : {}) };
    }
    default:
      return undefined;
  }
}
