/**
 * The service's access control: bearer tokens with a role. viewer reads; operator also prechecks, plans, upgrades,
 * pauses, resumes and cancels; admin also manages clusters, the catalog, tokens, rollbacks and the force and
 * quarantine drain policies.
 *
 * A token is 32 random bytes (256 bits): the store keeps its SHA-256 only. A slow password hash (bcrypt, scrypt)
 * protects low-entropy secrets against guessing from a stolen hash; a 256-bit random token cannot be guessed from
 * its hash, so one fast hash is enough and keeps each request cheap. Lookup is by hash, then the stored hash is
 * compared with `timingSafeEqual`: what an attacker times is a hash of their guess, which tells nothing of a token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { KupError } from '../errors/kup-error.ts';
import type { TokenRow, TokensRepo } from '../persistence/service-repos.ts';

/** The roles, weakest first. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
/** A role. */
export type Role = (typeof ROLES)[number];

/** Who made a request. */
export interface Principal {
  /** The token's id (`tok-...`): what the audit log names. */
  readonly tokenId: string;
  readonly name: string;
  readonly role: Role;
}

/** No credentials, or credentials that are not a live token. */
export class UnauthorizedError extends KupError<'KUP-AUTH-001'> {
  override readonly name = 'UnauthorizedError';
  constructor(message: string) {
    super('KUP-AUTH-001', message, { kind: 'unauthorized' });
  }
}

/** A token whose role does not allow the request. */
export class ForbiddenError extends KupError<'KUP-AUTH-002', { readonly role: Role; readonly required: Role }> {
  override readonly name = 'ForbiddenError';
  constructor(role: Role, required: Role, what: string) {
    super('KUP-AUTH-002', `${what} needs the ${required} role; this token is ${role}`, {
      kind: 'forbidden',
      details: { role, required },
    });
  }
}

/** Whether `role` includes `required`. */
export function allows(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}

/** Whether a string is a role. */
export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** A new token (its clear text, shown once) and the row to store. */
export function newToken(name: string, role: Role, now: number, createdBy?: string): { token: string; row: TokenRow } {
  const token = `kup_${randomBytes(32).toString('base64url')}`;
  const row: TokenRow = {
    id: `tok-${randomBytes(6).toString('hex')}`,
    name,
    role,
    tokenHash: hashToken(token),
    createdAt: now,
    ...(createdBy ? { createdBy } : {}),
  };
  return { token, row };
}

/** Hex SHA-256 of a token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The principal of an `Authorization` header.
 * @throws {UnauthorizedError} when the header is missing, not `Bearer`, or names no live token.
 */
export async function authenticate(header: string | undefined, tokens: TokensRepo): Promise<Principal> {
  if (header === undefined || header === '')
    throw new UnauthorizedError('no credentials: send Authorization: Bearer <token>');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new UnauthorizedError('the Authorization header is not "Bearer <token>"');
  const hash = hashToken(match[1]);
  const row = await tokens.findByHash(hash);
  if (row === undefined || !timingSafeEqual(Buffer.from(row.tokenHash, 'hex'), Buffer.from(hash, 'hex')))
    throw new UnauthorizedError('the token is not valid');
  if (row.revokedAt !== undefined) throw new UnauthorizedError('the token was revoked');
  if (!isRole(row.role)) throw new UnauthorizedError(`the token has an unknown role "${row.role}"`);
  return { tokenId: row.id, name: row.name, role: row.role };
}
