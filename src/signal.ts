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
import { readSettings, settingOptions } from './cli/settings.js';
import { SIGNAL_SETTINGS } from './cli/signal-settings.js';
import { configFlag, loadConfigFile } from './config.js';
import { packageVersion } from './project.js';
import { relayLimitsFrom } from './server/relay/settings.js';
import { SignalServer } from './server/server.js';
import type { SignalLimitVariable } from './server/server-config.js';
import { parseSignalLimits, SIGNAL_LIMIT_SETTINGS } from './server/server-config.js';
import { readTlsFiles } from './server/tls.js';
import { resolveTurnConfig } from './server/turn.js';

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

const args = await yargs(rawArgs)
  .scriptName(viaNpm ? 'npm run serve:signal --' : 'peerlane-signal')
  .usage('$0 [options]\n\nThe peerlane signal server: introduces peers, never sees file data.')
  .options(settingOptions(SIGNAL_SETTINGS, env, true))
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

const output = new Output({ json: args.json === true, quiet: args.quiet === true, verb: 'sent', program });
await runCommand(
  output,
  async (abortSignal) => {
    const settings = readSettings(SIGNAL_SETTINGS, args, env);
    const limitValues: Partial<Record<SignalLimitVariable, unknown>> = {};
    for (const s of SIGNAL_LIMIT_SETTINGS) limitValues[s.env] = settings[s.flag];
    const redisUrl = settings['redis-url'];
    const server = new SignalServer({
      host: settings.host,
      port: settings.port,
      log: (message) => output.say(`[signal] ${message}`),
      limits: parseSignalLimits(limitValues),
      turn: resolveTurnConfig({
        urls: settings['turn-urls'],
        secret: settings['turn-secret'],
        ttl: settings['turn-ttl'],
      }),
      redisUrl,
      httpPort: settings['http-port'],
      httpHost: settings['http-host'],
      relay: relayLimitsFrom(settings),
      relayAddress: settings['relay-address'],
      relayOnly: settings['relay-only'],
      tls: readTlsFiles(settings['tls-cert'], settings['tls-key']),
      trustProxy: settings['trust-proxy'],
    });
    const address = await server.listen();
    const http = server.httpAddress();
    output.event({ event: 'listening', ...address, ...(http ? { httpPort: http.port } : {}) });
    output.say(`[signal] STUN on udp ${address.host}:${address.port}`);
    if (settings['tls-cert'] !== undefined) output.say('[signal] TLS on the same port: https:// and wss://');
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
