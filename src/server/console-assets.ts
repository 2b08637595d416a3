/**
 * The web console's files, as `kup serve` serves them under `/console/`: the build in dist/console
 * (scripts/build-console.mjs). Kept apart from the HTTP framework so the rules are one function: which file a URL
 * names, with which type and caching, and that no URL reaches outside the build.
 *
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the build is: dist/console next to dist/cli, whether kup runs from dist/ or from its sources. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../dist/console', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** A file to send. */
export interface ConsoleAsset {
  readonly status: 200;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** Why nothing is sent. */
export interface ConsoleAssetMissing {
  readonly status: 404;
  /** The console was never built (dist/console/index.html is absent): say how to build it. */
  readonly notBuilt: boolean;
}

/**
 * The response to `GET /console/<path>`. `assets/` files carry a content hash in their name and are cached for a
 * year; anything else that is not a file is a page of the app (`index.html`, never cached, so a new build is picked
 * up at once). A path with `..` or a NUL is refused like an absent file.
 */
export async function consoleAsset(
  path: string,
  dir = DEFAULT_CONSOLE_DIR,
): Promise<ConsoleAsset | ConsoleAssetMissing> {
  const relative = decodeSafely(path.replace(/^\/+/, ''));
  if (relative === null || relative.includes('\0')) return { status: 404, notBuilt: false };
  const resolved = normalize(join(dir, relative));
  if (resolved !== dir && !resolved.startsWith(dir + sep)) return { status: 404, notBuilt: false };
  const file = (await isFile(resolved)) ? resolved : null;
  if (file && !relative.startsWith('.')) {
    const immutable = relative.startsWith('assets/');
    return send(file, immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  }
  // A hashed asset that is not there is missing, not a page: a stale tab must not get HTML for its script.
  if (relative.startsWith('assets/')) return { status: 404, notBuilt: false };
  const index = join(dir, 'index.html');
  if (!(await isFile(index))) return { status: 404, notBuilt: true };
  return send(index, 'no-cache');
}

async function send(file: string, cacheControl: string): Promise<ConsoleAsset> {
  return {
    status: 200,
    body: await readFile(file),
    headers: {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': cacheControl,
      'x-content-type-options': 'nosniff',
      // Everything the console loads is its own; the data it shows is text, and this stops any markup that slipped
      // through from running script.
      'content-security-policy':
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      'referrer-policy': 'no-referrer',
    },
  };
}

function decodeSafely(path: string): string | null {
  try {
    return decodeURIComponent(path.split('?')[0] ?? '');
  } catch {
    return null;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
