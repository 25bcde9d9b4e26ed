/**
 * The swarm the daemon drives (src/swarm/jobs.ts), behind an interface so
 * that the registry's unit tests can hand it a tiny in-process job instead.
 */
import { startGet, startShare } from '../swarm/jobs.js';

export interface JobRunner {
  startShare: typeof startShare;
  startGet: typeof startGet;
}

export const swarmRunner: JobRunner = { startShare, startGet };
