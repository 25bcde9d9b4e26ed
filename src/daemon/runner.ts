/**
 * The swarm the daemon drives. Until src/swarm/jobs.ts is merged this build
 * has none, and says so: every job is refused with INTERNAL.
 */
import { PeerlaneError } from '../core/errors.js';
import type { JobRunner } from './job-types.js';

const missing = (): Promise<never> =>
  Promise.reject(new PeerlaneError('INTERNAL', 'this build has no swarm (src/swarm/jobs.ts) yet'));

export const swarmRunner: JobRunner = { startShare: missing, startGet: missing };
