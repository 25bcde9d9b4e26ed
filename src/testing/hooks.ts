/**
 * The set-up most test files repeat: a Harness cleaned up after every test,
 * and often a signal server in this process started fresh before each one.
 *
 *   const { h, server } = useSignalServer({ beforeEach, afterEach });
 *   it('…', async () => { const rx = h.peer(['receive', ...server.peerArgs]); … });
 *
 * The test framework's hooks are passed in, so this module (which ships in the
 * package) depends on none: vitest's, node:test's or mocha's all fit.
 */
import type { SignalServer } from '../server/server.js';
import type { SignalHandle } from './harness.js';
import { Harness } from './harness.js';

type Hook = () => unknown;

export interface TestHooks {
  beforeEach(fn: Hook): unknown;
  afterEach(fn: Hook): unknown;
}

/** A signal server in this process, as Harness.signalServer() returns it. */
export type InProcessSignal = SignalHandle & { server: SignalServer };

/** One Harness for the file; whatever a test started through it is stopped after that test. */
export function useHarness(hooks: Pick<TestHooks, 'afterEach'>): Harness {
  const h = new Harness();
  hooks.afterEach(() => h.cleanup());
  return h;
}

/**
 * A Harness, and a fresh signal server on a free loopback port for every test.
 * `server` reads through to the current test's server, so it may be captured
 * once at the top of the file; reading it outside a test throws.
 */
export function useSignalServer(hooks: TestHooks): { h: Harness; server: InProcessSignal } {
  const h = useHarness(hooks);
  let current: InProcessSignal | undefined;
  hooks.beforeEach(async () => {
    current = await h.signalServer();
  });
  hooks.afterEach(() => {
    current = undefined;
  });
  const now = (): InProcessSignal => {
    if (current === undefined) throw new Error('the signal server exists only inside a test');
    return current;
  };
  const server = {
    get host() {
      return now().host;
    },
    get port() {
      return now().port;
    },
    get peerArgs() {
      return now().peerArgs;
    },
    get server() {
      return now().server;
    },
  };
  return { h, server };
}
