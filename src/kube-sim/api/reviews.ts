/**
 * The review resources clients ask about themselves with: `SelfSubjectAccessReview` and `SelfSubjectRulesReview`
 * (`kubectl auth can-i [--list]`) and `SelfSubjectReview` (`kubectl auth whoami`). They are create-only and never
 * stored: the reply is the request with its status filled in. kube-sim has one identity, the admin its kubeconfig's
 * token authenticates, which is in `system:masters` and so allowed everything, as a kubeadm admin is.
 */
import type { ResourceDef } from './resources.ts';
import { groupVersion } from './resources.ts';
import { badRequest, invalid } from './status.ts';
import { isRecord } from '../model/wire.ts';

/** Who kube-sim's bearer token authenticates as. */
export const SIM_ADMIN = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] } as const;

const REVIEW_KINDS = new Set(['SelfSubjectAccessReview', 'SelfSubjectRulesReview', 'SelfSubjectReview']);

/** Whether `def` is a review resource (answered by {@link answerReview}, never stored). */
export function isReview(def: ResourceDef): boolean {
  return REVIEW_KINDS.has(def.kind) && (def.group === 'authorization.k8s.io' || def.group === 'authentication.k8s.io');
}

/** The reply to a create of a review: the request with the status the authorizer or authenticator fills in. */
export function answerReview(def: ResourceDef, body: unknown): Record<string, unknown> {
  if (!isRecord(body)) throw badRequest(`the body of a ${def.kind} must be a JSON object`);
  const spec = isRecord(body['spec']) ? body['spec'] : {};
  const head = { kind: def.kind, apiVersion: groupVersion(def), metadata: { creationTimestamp: null } };
  switch (def.kind) {
    case 'SelfSubjectAccessReview': {
      const resource = isRecord(spec['resourceAttributes']);
      const nonResource = isRecord(spec['nonResourceAttributes']);
      if (resource === nonResource) {
        throw invalid(def.kind, def.group, '', [
          {
            field: resource ? 'spec.nonResourceAttributes' : 'spec.resourceAttributes',
            message: `Invalid value: ${resource ? '"{...}"' : '"null"'}: exactly one of nonResourceAttributes or resourceAttributes must be specified`,
          },
        ]);
      }
      // system:masters is allowed by the privileged-group authorizer ahead of RBAC, which gives no reason.
      return { ...head, spec, status: { allowed: true } };
    }
    case 'SelfSubjectRulesReview':
      return { ...head, spec, status: adminRules() };
    default:
      return { ...head, status: { userInfo: { username: SIM_ADMIN.username, groups: [...SIM_ADMIN.groups] } } };
  }
}

/** What an admin may do in any namespace: everything (cluster-admin), listed as RBAC's rule resolver does. */
function adminRules(): Record<string, unknown> {
  return {
    resourceRules: [
      { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
      {
        verbs: ['create'],
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
      },
      { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
    ],
    nonResourceRules: [
      { verbs: ['*'], nonResourceURLs: ['*'] },
      {
        verbs: ['get'],
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/openapi',
          '/openapi/*',
          '/readyz',
          '/version',
          '/version/',
        ],
      },
    ],
    incomplete: false,
  };
}
