/**
 * One HTTP or HTTPS request from a test, its answer read whole as text: for
 * the signal server's page. (A request whose path must reach the server
 * exactly as written, `..` and all, is written by hand instead.)
 */
import http from 'node:http';
import https from 'node:https';

export interface TextAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** `options` as node:http takes them; with `ca`, over HTTPS trusting that certificate. */
export function requestText(options: https.RequestOptions): Promise<TextAnswer> {
  return new Promise((resolve, reject) => {
    const client = options.ca === undefined ? http : https;
    const req = client.request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
