import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
};

/** A static file server on 127.0.0.1: URL prefixes mapped to folders (GET and HEAD; 404 for anything else). */
export interface StaticServer {
  readonly origin: string;
  /** Paths requested, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Serve `routes` (`'/model/' -> folder`, or `'/index.html' -> { body }`) on 127.0.0.1, a free port. */
export async function serveStatic(routes: Readonly<Record<string, string | { readonly body: string | Uint8Array; readonly type: string }>>, headers: Readonly<Record<string, string>> = {}): Promise<StaticServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
      requests.push(`${req.method} ${path}`);
      for (const [prefix, target] of Object.entries(routes)) {
        if (typeof target !== 'string') {
          if (path !== prefix) continue;
          res.writeHead(200, { 'content-type': target.type, ...headers });
          res.end(req.method === 'HEAD' ? undefined : target.body);
          return;
        }
        if (!path.startsWith(prefix)) continue;
        const file = normalize(join(target, path.slice(prefix.length)));
        if (!file.startsWith(normalize(target + sep)) && file !== normalize(target)) break;
        const info = await stat(file).catch(() => undefined);
        if (!info?.isFile()) break;
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': info.size, ...headers });
        if (req.method === 'HEAD') res.end();
        else createReadStream(file).pipe(res);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain', ...headers });
      res.end('not found');
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
