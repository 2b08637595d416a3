/**
 * What the HTTP layer of a simulated apiserver needs from the cluster behind it.
 */
import type { ApiMetrics } from './metrics.ts';
import type { Registry } from './registry.ts';
import type { ResourceDef } from './resources.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** The version /version reports. */
export interface ServerVersion {
  major: string;
  minor: string;
  gitVersion: string;
}

/** Faults the API layer injects. Mutable: the infrastructure API changes them at run time. */
export interface ApiFaults {
  /** Share of resource requests answered 500 at random, 0..1. */
  errorRate: number;
  /** Added to every request, in ms. */
  latencyMs: number;
}

/** The cluster as the API layer sees it. */
export interface ApiContext {
  readonly store: ObjectStore;
  readonly registry: Registry;
  readonly metrics: ApiMetrics;
  readonly token: string;
  readonly faults: ApiFaults;
  now(): number;
  version(): ServerVersion;
  /** The resources served now (they change when the control plane is upgraded). */
  resources(): readonly ResourceDef[];
  /** When set and in the future, the API answers 503 (the only apiserver is restarting). */
  unavailableUntil(): number;
  /** Handles POST pods/<name>/eviction; returns the reply body and code or throws a StatusError. */
  evict(namespace: string, name: string, body: unknown, options: { dryRun: boolean }): { code: number; body: unknown };
}
