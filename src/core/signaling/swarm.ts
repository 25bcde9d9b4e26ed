/**
 * The signal server as a swarm's tracker: the swarm messages of the
 * signaling protocol (protocol.ts parses them, under its one version, as part
 * of ClientMessage and ServerMessage; their kinds and limits live here).
 *
 *   member A                   signal server                    member B
 *      | -- announce{swarm} -----> |                               |
 *      | <- announced{swarm, member: a, members: []}               |
 *      |                           | <----------- announce{swarm} -- |
 *      |                           | -- announced{member: b, members: [a]} -> |
 *      | <- member{swarm, b, joined: true}                         |
 *      | -- swarm-relay{swarm, to: b, payload} -->                 |
 *      |                           | -- swarm-relay{swarm, from: a, payload} -> |
 *      | <========= swarm-relay both ways (sealed, opaque) =======> |
 *      |                           |  (B's connection closes)      |
 *      | <- member{swarm, b, joined: false}                        |
 *
 * `swarm` is 64 hex digits, a hash of the swarm secret (core/swarm/keys.ts):
 * the server routes by it and learns nothing else. Member ids are the
 * server's: 128 random bits, base64url, one per announce, so a member cannot
 * speak as another (the server stamps `from`). With it comes a token, as
 * random: a member whose connection dropped announces again on a new one with
 * both, and stays the same member (its links and its peers' view of it hold).
 * Nobody else can take that id; the old connection, if the server still
 * holds it, no longer receives for it. Payloads are sealed by the
 * members (core/swarm/member-pipe.ts); the server never reads them.
 *
 * A connection may be in a few swarms (SIGNAL_SWARMS_PER_CONNECTION), a swarm
 * holds at most SIGNAL_SWARM_MEMBERS members (and never more than
 * MAX_SWARM_MEMBERS, so `announced` always lists them all), and swarm relays
 * are paid from a per-connection bucket (SIGNAL_SWARM_RELAY_RATE, _BURST).
 * A relay in a swarm the sender has not announced, an id of the wrong form, a
 * flood or an oversize line gets the sender an error and closes it. A relay
 * to a member that has just left is answered with `member{joined: false}`.
 *
 * On a server configured for TURN, `announced` carries `turn`: short-lived
 * credentials for this member's links, issued and budgeted as a pair's are
 * (protocol.ts `paired`). An old client ignores the field; an announce again
 * (after a reconnection) brings fresh ones, and so does `swarm-turn{swarm}`,
 * answered with `swarm-turn{swarm, turn?}` (no `turn` past the budget). A
 * member asks only a server whose `announced` carried credentials.
 */
import { bad, str } from './fields.js';
import type { TurnGrant } from './turn-grant.js';
import { parseTurnGrant } from './turn-grant.js';

/** What a swarm id looks like: hex of a SHA-256. */
const SWARM_ID_PATTERN = /^[0-9a-f]{64}$/;
/** A member id or its token: 128 random bits, base64url. */
const MEMBER_PATTERN = /^[A-Za-z0-9_-]{22}$/;
/**
 * Members one swarm may hold, whatever the server is set to: 256 ids of 24
 * bytes keep `announced` near 7 KiB, far under the line limit, and a swarm
 * larger than that is more than one tracker connection should fan out to.
 */
export const MAX_SWARM_MEMBERS = 256;

/** A message of this layer, before protocol.ts stamps its version. */
export type SwarmClientMessage =
  /** With `member` and `token` (what `announced` gave): the same member again, on a new connection. */
  | { type: 'announce'; swarm: string; member?: string; token?: string }
  | { type: 'swarm-relay'; swarm: string; to: string; payload: string }
  /** Fresh TURN credentials, for links to come once the last ones are near their expiry. */
  | { type: 'swarm-turn'; swarm: string };

export type SwarmServerMessage =
  | {
      type: 'announced';
      swarm: string;
      member: string;
      token: string;
      members: string[];
      /** Only when the server is configured for TURN and the address's budget allows. */
      turn?: TurnGrant;
    }
  | { type: 'member'; swarm: string; member: string; joined: boolean }
  | { type: 'swarm-relay'; swarm: string; from: string; payload: string }
  | { type: 'swarm-turn'; swarm: string; turn?: TurnGrant };

export function isSwarmId(value: string): boolean {
  return SWARM_ID_PATTERN.test(value);
}

/** Whether `value` has the form of a member id (whether it is one is the tracker's to say). */
export function isMemberId(value: string): boolean {
  return MEMBER_PATTERN.test(value);
}

function swarmField(obj: Record<string, unknown>): string {
  const swarm = str(obj, 'swarm', 64);
  if (!isSwarmId(swarm)) throw bad('field "swarm" must be 64 lowercase hex digits');
  return swarm;
}

function memberField(obj: Record<string, unknown>, key: string): string {
  const member = str(obj, key, 22);
  if (!MEMBER_PATTERN.test(member)) throw bad(`field "${key}" is not a member id`);
  return member;
}

function turnField(obj: Record<string, unknown>): { turn?: TurnGrant } {
  return obj.turn === undefined ? {} : { turn: parseTurnGrant(obj.turn) };
}

/** The swarm message `obj` is, or undefined if its type is none of this layer's. */
export function parseSwarmClientMessage(
  obj: Record<string, unknown>,
  maxPayload: number,
): SwarmClientMessage | undefined {
  switch (obj.type) {
    case 'announce': {
      const swarm = swarmField(obj);
      if (obj.member === undefined && obj.token === undefined) return { type: 'announce', swarm };
      return {
        type: 'announce',
        swarm,
        member: memberField(obj, 'member'),
        token: memberField(obj, 'token'),
      };
    }
    case 'swarm-relay':
      return {
        type: 'swarm-relay',
        swarm: swarmField(obj),
        to: memberField(obj, 'to'),
        payload: str(obj, 'payload', maxPayload),
      };
    case 'swarm-turn':
      return { type: 'swarm-turn', swarm: swarmField(obj) };
    default:
      return undefined;
  }
}

export function parseSwarmServerMessage(
  obj: Record<string, unknown>,
  maxPayload: number,
): SwarmServerMessage | undefined {
  switch (obj.type) {
    case 'announced': {
      const members = obj.members;
      if (!Array.isArray(members) || members.length > MAX_SWARM_MEMBERS)
        throw bad(`field "members" must list at most ${MAX_SWARM_MEMBERS} members`);
      return {
        type: 'announced',
        swarm: swarmField(obj),
        member: memberField(obj, 'member'),
        token: memberField(obj, 'token'),
        members: members.map((m: unknown) => memberField({ member: m }, 'member')),
        ...turnField(obj),
      };
    }
    case 'member':
      if (typeof obj.joined !== 'boolean') throw bad('field "joined" must be a boolean');
      return {
        type: 'member',
        swarm: swarmField(obj),
        member: memberField(obj, 'member'),
        joined: obj.joined,
      };
    case 'swarm-relay':
      return {
        type: 'swarm-relay',
        swarm: swarmField(obj),
        from: memberField(obj, 'from'),
        payload: str(obj, 'payload', maxPayload),
      };
    case 'swarm-turn':
      return { type: 'swarm-turn', swarm: swarmField(obj), ...turnField(obj) };
    default:
      return undefined;
  }
}
