/**
 * `GET /sim/v1/idle`: answers once the simulated controllers are idle (no work queued, no 0-ms timer waiting), so a
 * client in another process can tell "nothing more is going to happen now" without sleeping. Timers set for later (a
 * pod's grace period, a node's boot) do not count: the reply says only that what the last writes started is done.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExtraHandler } from '../api/http-server.ts';
import { sendJson } from '../api/http-server.ts';
import { methodNotAllowed } from '../api/status.ts';
import type { SimRuntime } from '../runtime.ts';

/** The path of the idle signal. */
export const IDLE_PATH = '/sim/v1/idle';

/**
 * Serves {@link IDLE_PATH} and hands every other request to `next` (the rest of the infrastructure API). Kept apart
 * from the infrastructure handler because it is the one route that waits.
 */
export function createIdleHandler(runtime: SimRuntime, next: ExtraHandler): ExtraHandler {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (url.pathname.replace(/\/+$/, '') !== IDLE_PATH) return next(req, res, url);
    if (req.method !== 'GET') throw methodNotAllowed(req.method ?? '');
    await runtime.idle();
    sendJson(res, 200, { idle: true });
    return true;
  };
}
