/**
 * A self-signed certificate for 127.0.0.1, made by `openssl` in a folder the
 * caller owns, for tests of the signal server's TLS (TLS_CERT, TLS_KEY).
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { LOOPBACK } from './harness.js';

export interface TestCert {
  certPath: string;
  keyPath: string;
  /** The certificate, PEM: what a client trusts as its CA. */
  cert: string;
}

/**
 * Why TLS tests may be skipped here, or undefined if they must run. Under CI
 * they always run (and fail loudly without openssl).
 */
export function opensslSkipReason(): string | undefined {
  if (process.env.CI || spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0) return undefined;
  const reason = 'openssl is not installed (apt-get install openssl); set CI=1 to make this a failure';
  console.warn(`Skipping the tests that need a certificate: ${reason}`);
  return reason;
}

/** A fresh P-256 key and a certificate for LOOPBACK (as its name and its IP address), valid for a day. */
export async function selfSignedCert(dir: string): Promise<TestCert> {
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${LOOPBACK}`,
    '-addext',
    `subjectAltName=IP:${LOOPBACK}`,
    '-keyout',
    keyPath,
    '-out',
    certPath,
  ]);
  return { certPath, keyPath, cert: await fs.readFile(certPath, 'utf8') };
}
