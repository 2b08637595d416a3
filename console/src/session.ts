/**
 * Who is signed in, and what their role lets them do. The console offers only what the role may do; the API refuses
 * the rest anyway.
 *
 * @module
 */
import { createContext, useContext } from 'react';
import type { ApiClient } from './api/client.ts';
import type { Identity, Role } from './api/types.ts';

/** What a person may ask of kup, by the weakest role that may. */
const REQUIRED: Readonly<Record<Permission, Role>> = {
  upgrade: 'operator',
  precheck: 'operator',
  pause: 'operator',
  resume: 'operator',
  cancel: 'operator',
  rollback: 'admin',
  acknowledge: 'operator',
};

/** Things the console offers only to some roles. */
export type Permission = 'upgrade' | 'precheck' | 'pause' | 'resume' | 'cancel' | 'rollback' | 'acknowledge';

const RANK: Readonly<Record<Role, number>> = { viewer: 0, operator: 1, admin: 2 };

/** Whether `role` may do `permission`. */
export function may(role: Role, permission: Permission): boolean {
  return RANK[role] >= RANK[REQUIRED[permission]];
}

/** The signed-in person and their client. */
export interface Session {
  readonly api: ApiClient;
  readonly identity: Identity;
  readonly signOut: () => void;
}

/** The session's context; set by the app once signed in. */
export const SessionContext = createContext<Session | null>(null);

/** The signed-in session (pages render only inside one). */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

const STORAGE_KEY = 'kup.token';

/** The token kept for this tab (sessionStorage: gone when the tab closes). */
export function storedToken(): string | null {
  return window.sessionStorage.getItem(STORAGE_KEY);
}

/** Keeps or forgets the token. */
export function storeToken(token: string | null): void {
  if (token === null) window.sessionStorage.removeItem(STORAGE_KEY);
  else window.sessionStorage.setItem(STORAGE_KEY, token);
}
