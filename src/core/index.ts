/**
 * The browser-safe core: everything a peer needs that is not I/O, for the CLI
 * (through the Node adapters beside src/core), the browser page and the swarm.
 * Nothing reached from here imports `node:*`, a native addon or a Node-only
 * package, or uses Node's globals (`Buffer`, `process`):
 * test/unit/core-bundle.test.ts bundles this file for a browser and checks.
 */
export * from './bytes.js';
export * from './direct/protocol.js';
export * from './errors.js';
export * from './events.js';
export * from './format.js';
export * from './ip.js';
export * from './json.js';
export * from './link.js';
export * from './link-state.js';
export * from './reach.js';
export * from './relay/protocol.js';
export * from './secure/channel.js';
export * from './secure/code.js';
export * from './secure/cpace.js';
export * from './secure/handshake.js';
export * from './secure/protocol.js';
export * from './session/attempt-signals.js';
export * from './session/defaults.js';
export * from './session/pair.js';
export * from './session/peer-session.js';
export * from './session/ports.js';
export * from './session/reconnect-policy.js';
export * from './session/transfer.js';
export * from './signaling/client.js';
export * from './signaling/framing.js';
export * from './signaling/page-config.js';
export * from './signaling/pipe.js';
export * from './signaling/protocol.js';
export * from './signaling/rtc-signal.js';
export * from './signaling/swarm.js';
export * from './signaling/transport.js';
export * from './swarm/bitfield.js';
export * from './swarm/engine.js';
export * from './swarm/keys.js';
export * from './swarm/manifest.js';
export * from './swarm/member.js';
export * from './swarm/member-pipe.js';
export * from './swarm/picker.js';
export * from './swarm/protocol.js';
export * from './swarm/ticket.js';
export * from './swarm/tracker-client.js';
export * from './timers.js';
export * from './transfer/credit.js';
export * from './transfer/file-access.js';
export * from './transfer/framed-link.js';
export * from './transfer/names.js';
export * from './transfer/ports.js';
export * from './transfer/protocol.js';
export * from './transfer/receiver-engine.js';
export * from './transfer/sender-engine.js';
export * from './transfer/types.js';
