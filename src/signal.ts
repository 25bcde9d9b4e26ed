#!/usr/bin/env node
/**
 * The signal server, as a thin shell over signaling/server.ts: the
 * `peerlane-signal` bin of an installed package, `npm run serve:signal` in a
 * checkout. Loads .env (of the folder it starts in, or --config), lays
 * --host/--port over it, logs to stderr.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { repeatedFlag } from './cli/flags.js';
import { Output } from './cli/output.js';
import { runCommand, usageError } from './cli/run.js';
import { configFlag, DEFAULTS, loadConfigFile, parsePort } from './config.js';
import { packageVersion } from './project.js';
import { DEFAULT_HTTP_HOST, SignalServer } from './server/server.js';
import type { SignalLimitVariable } from './server/server-config.js';
import { parseSignalLimits, SIGNAL_LIMIT_SETTINGS } from './server/server-config.js';
import { DEFAULT_TURN_TTL_SECONDS, resolveTurnConfig } from './server/turn.js';

const env = process.env;
const rawArgs = hideBin(process.argv);
/** Hints name the command the user typed: in a checkout that is the npm script, whose flags follow `--`. */
const viaNpm = env.npm_lifecycle_event === 'serve:signal';
const program = { program: 'peerlane-signal', invocation: viaNpm ? 'npm run serve:signal --' : undefined };
const usageOutput = (): Output =>
  new Output({ json: rawArgs.includes('--json'), quiet: false, verb: 'sent', program });
const repeated = repeatedFlag(rawArgs);
if (repeated !== undefined) usageError(usageOutput(), `${repeated} was given twice; give it once`);

// The server is configured where it is deployed: the .env of the folder it
// starts in (a checkout's root under `npm run serve:signal`), or --config FILE.
try {
  const file = configFlag(rawArgs);
  loadConfigFile(file ?? '.env', env, file !== undefined);
} catch (err) {
  await runCommand(usageOutput(), () => Promise.reject(err));
}

/** One flag per limit, defaulting to its variable (see .env.template). */
type LimitFlag = (typeof SIGNAL_LIMIT_SETTINGS)[number]['flag'];
const limitFlags = Object.fromEntries(
  SIGNAL_LIMIT_SETTINGS.map((s) => [
    s.flag,
    { type: 'string', default: env[s.env] || String(s.default), describe: `${s.describe} [${s.env}]` },
  ]),
) as Record<LimitFlag, { type: 'string'; default: string; describe: string }>;

const args = await yargs(rawArgs)
  .scriptName(viaNpm ? 'npm run serve:signal --' : 'peerlane-signal')
  .usage('$0 [options]\n\nThe peerlane signal server: introduces peers, never sees file data.')
  .option('host', {
    type: 'string',
    default: env.SIGNALING_SERVER_ADDR || DEFAULTS.SIGNALING_SERVER_ADDR,
    describe: 'Address to listen on; 0.0.0.0 for all [SIGNALING_SERVER_ADDR]',
  })
  .option('port', {
    type: 'string',
    default: env.SIGNALING_SERVER_PORT || String(DEFAULTS.SIGNALING_SERVER_PORT),
    describe: 'TCP port, and UDP port for STUN; 0 picks a free one [SIGNALING_SERVER_PORT]',
  })
  .option('turn-urls', {
    type: 'string',
    default: env.TURN_URLS ?? '',
    describe: 'Comma-separated turn: URLs of coturn, without credentials [TURN_URLS]',
  })
  // Secrets have no default here: yargs would print it in --help. They are read below.
  .option('turn-secret', {
    type: 'string',
    describe: "coturn's static-auth-secret; prefer the variable, flags show in ps [TURN_SECRET]",
  })
  .option('turn-ttl', {
    type: 'string',
    default: env.TURN_TTL || String(DEFAULT_TURN_TTL_SECONDS),
    describe: 'Seconds the issued TURN credentials stay valid [TURN_TTL]',
  })
  .option('redis-url', {
    type: 'string',
    describe: 'Share state with other instances through this Redis; empty: in memory [REDIS_URL]',
  })
  .option('http-port', {
    type: 'string',
    default: env.SIGNAL_HTTP_PORT ?? '',
    describe: 'TCP port for /healthz and /metrics; empty: none, 0 picks one [SIGNAL_HTTP_PORT]',
  })
  .option('http-host', {
    type: 'string',
    default: env.SIGNAL_HTTP_HOST || DEFAULT_HTTP_HOST,
    describe: 'Address the /healthz and /metrics port listens on [SIGNAL_HTTP_HOST]',
  })
  .options(limitFlags)
  .option('config', {
    type: 'string',
    describe: 'Read settings from this file instead of ./.env',
  })
  .option('json', { type: 'boolean', default: false, describe: 'One JSON event per line on stdout' })
  .option('quiet', { type: 'boolean', default: false, describe: 'Log nothing but errors' })
  .strict()
  .version(packageVersion())
  .alias('v', 'version')
  .alias('h', 'help')
  .fail((message, err) => {
    if (err) throw err;
    // `npm run serve:signal --port 9600` gives npm the flag and us its value.
    const swallowed =
      viaNpm && /^Unknown arguments?: /.test(message)
        ? ` (npm kept the flag before it: put -- first, \`npm run serve:signal -- --port 9600\`)`
        : '';
    usageError(usageOutput(), `${message}${swallowed}`);
  })
  .parseAsync();

const output = new Output({ json: args.json, quiet: args.quiet, verb: 'sent', program });
const turnSecret = args['turn-secret'] ?? env.TURN_SECRET ?? '';
const redisUrl = (args['redis-url'] ?? env.REDIS_URL ?? '').trim() || undefined;
const limitValues: Partial<Record<SignalLimitVariable, unknown>> = {};
for (const s of SIGNAL_LIMIT_SETTINGS) limitValues[s.env] = args[s.flag];
await runCommand(
  output,
  async (abortSignal) => {
    const server = new SignalServer({
      host: args.host,
      port: parsePort(args.port, '--port'),
      log: (message) => output.say(`[signal] ${message}`),
      limits: parseSignalLimits(limitValues),
      turn: resolveTurnConfig({
        urls: args['turn-urls'],
        secret: turnSecret,
        ttl: args['turn-ttl'],
      }),
      redisUrl,
      httpPort: args['http-port'].trim() === '' ? undefined : parsePort(args['http-port'], '--http-port'),
      httpHost: args['http-host'].trim() || DEFAULT_HTTP_HOST,
    });
    const address = await server.listen();
    const http = server.httpAddress();
    output.event({ event: 'listening', ...address, ...(http ? { httpPort: http.port } : {}) });
    output.say(`[signal] STUN on udp ${address.host}:${address.port}`);
    if (http) output.say(`[signal] /healthz and /metrics on http://${http.host}:${http.port}`);
    if (redisUrl !== undefined)
      output.say(`[signal] sharing state through Redis as instance ${server.instance}`);
    await new Promise<void>((resolve) =>
      abortSignal.addEventListener('abort', () => resolve(), { once: true }),
    );
    await server.close();
  },
  { signalMeansStop: true },
);
