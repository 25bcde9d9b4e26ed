/**
 * 'peerlane/testing': the harness peerlane's own tests use, for tests of
 * programs built on it. Signal servers on free loopback ports, `peer`
 * processes with their JSON events, in-process senders and receivers, raw
 * peers that hand over the data channel after a real handshake, and the
 * clean-up of all of it. Framework-neutral: hooks.ts takes the framework's
 * beforeEach/afterEach.
 */

export { listTree, sha256File, writeRandomFile } from './files.js';
export type { EventOf, Exit, SignalHandle } from './harness.js';
export { EventProcess, Harness, LOOPBACK, peerArgsFor } from './harness.js';
export type { InProcessSignal, TestHooks } from './hooks.js';
export { useHarness, useSignalServer } from './hooks.js';
export type { StartedReceiver, StartedSender } from './in-process.js';
export { startReceiver, startSender } from './in-process.js';
export type { MemoryLinkOptions, MemoryLinkPair } from './memory-link.js';
export { memoryLinkPair } from './memory-link.js';
export type { RawPeer } from './raw-peer.js';
export { rawReceiver, rawSender } from './raw-peer.js';
export type { LiarOptions } from './swarm-members.js';
export { lyingMember } from './swarm-members.js';
