/**
 * Sealing of the credentials uploaded to the service (kubeconfigs): AES-256-GCM with a random 96-bit nonce per
 * seal, the cluster's name bound in as additional data (a sealed kubeconfig copied onto another cluster's row does
 * not open). The key comes from `KUP_SECRET_KEY` (32 bytes, base64 or hex), else from `<dataDir>/secret.key`,
 * created with mode 0600 on first start. The store only ever sees the envelope `v1.<nonce>.<tag>.<ciphertext>`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KupError } from '../errors/kup-error.ts';
import { ensurePrivateDir } from '../persistence/private-files.ts';

/** A key that cannot be used, or an envelope that does not open with it. */
export class SecretKeyError extends KupError<'KUP-SECRET-001' | 'KUP-SECRET-002'> {
  override readonly name = 'SecretKeyError';
}

const KEY_BYTES = 32;
const NONCE_BYTES = 12;

/** Seals and opens credentials with one key. */
export class SecretBox {
  readonly #key: Buffer;

  /** @param key - 32 bytes. */
  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES)
      throw new SecretKeyError('KUP-SECRET-001', `the secret key has ${key.length} bytes, not ${KEY_BYTES}`, {
        kind: 'invalid-input',
      });
    this.#key = Buffer.from(key);
  }

  /** Encrypts `plain`, bound to `context` (the cluster's name). */
  seal(plain: string, context: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', nonce.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join('.');
  }

  /** @throws {SecretKeyError} KUP-SECRET-002 when the envelope was sealed with another key or for another context. */
  open(sealed: string, context: string): string {
    const [version, nonce, tag, body] = sealed.split('.');
    if (version !== 'v1' || nonce === undefined || tag === undefined || body === undefined) {
      throw new SecretKeyError('KUP-SECRET-002', `the stored credentials of ${context} are not a kup envelope`, {
        kind: 'internal',
      });
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(nonce, 'base64'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new SecretKeyError(
        'KUP-SECRET-002',
        `the stored credentials of ${context} do not open with this service's key (KUP_SECRET_KEY or secret.key changed?)`,
        { kind: 'internal', cause: err },
      );
    }
  }
}

/**
 * The service's key: `KUP_SECRET_KEY` when set, else `<dataDir>/secret.key`, created (0600, 32 random bytes, base64)
 * when missing. Several replicas on one database must share the key: give each the same `KUP_SECRET_KEY`.
 */
export function loadSecretKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): { key: Buffer; source: string } {
  const fromEnv = env['KUP_SECRET_KEY'];
  if (fromEnv !== undefined && fromEnv !== '')
    return { key: decodeKey(fromEnv, 'KUP_SECRET_KEY'), source: 'KUP_SECRET_KEY' };
  const path = join(ensurePrivateDir(dataDir), 'secret.key');
  try {
    return { key: decodeKey(readFileSync(path, 'utf8').trim(), path), source: path };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    // 'wx': two replicas starting together on one data directory do not both write a key.
    writeFileSync(path, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return { key: decodeKey(readFileSync(path, 'utf8').trim(), path), source: path };
}

function decodeKey(text: string, where: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new SecretKeyError(
      'KUP-SECRET-001',
      `${where}: a secret key is ${KEY_BYTES} bytes in base64 or hex (openssl rand -base64 32)`,
      { kind: 'invalid-input' },
    );
  }
  return key;
}
