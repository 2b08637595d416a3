/**
 * A connection to a kube-sim cluster that answers the raw GETs (`getText`: discovery, `/readyz`, `/version`, the
 * precheck's lists) as a partial API server does, the way Cluster API's in-memory workload API servers answer: no
 * `/readyz`, `/healthz` or `/version` (404), no `pods/eviction` in the core group's discovery, no `policy` group, and
 * nodes whose kubelet reports no version. Everything else goes to kube-sim as it is. The fallbacks kup takes on such a
 * server are tested through it, against a cluster that otherwise behaves.
 */
import type { ClusterConnection } from '../../src/kube-api/connect.ts';

/** What the partial server leaves out. @default all of it */
export interface PartialApiOptions {
  /** 404 on `/readyz` and `/healthz`. */
  readonly noReadyz?: boolean;
  /** 404 on `/version`. */
  readonly noVersion?: boolean;
  /** No `pods/eviction` in `/api/v1` and no `policy` group in `/apis`. */
  readonly noEviction?: boolean;
  /** Nodes with an empty `status.nodeInfo.kubeletVersion`. */
  readonly blankKubelets?: boolean;
}

const NOT_FOUND = { status: 404, body: '404 page not found' };

/** `conn` with the raw GETs of a partial API server. */
export function partialApi(conn: ClusterConnection, options: PartialApiOptions = {}): ClusterConnection {
  const { noReadyz = true, noVersion = true, noEviction = true, blankKubelets = true } = options;
  const getText = async (path: string, signal?: AbortSignal): Promise<{ status: number; body: string }> => {
    const bare = path.split('?')[0] ?? path;
    if (noReadyz && (bare === '/readyz' || bare === '/healthz')) return NOT_FOUND;
    if (noVersion && bare === '/version') return NOT_FOUND;
    const res = await conn.getText(path, signal);
    if (res.status !== 200) return res;
    if (noEviction && bare === '/api/v1') {
      const doc = JSON.parse(res.body) as { resources: { name: string }[] };
      doc.resources = doc.resources.filter((r) => r.name !== 'pods/eviction');
      return { status: 200, body: JSON.stringify(doc) };
    }
    if (noEviction && bare === '/apis') {
      const doc = JSON.parse(res.body) as { groups: { name: string }[] };
      doc.groups = doc.groups.filter((g) => g.name !== 'policy');
      return { status: 200, body: JSON.stringify(doc) };
    }
    if (blankKubelets && bare === '/api/v1/nodes') {
      const doc = JSON.parse(res.body) as { items: { status?: { nodeInfo?: { kubeletVersion?: string } } }[] };
      for (const node of doc.items) if (node.status?.nodeInfo) node.status.nodeInfo.kubeletVersion = '';
      return { status: 200, body: JSON.stringify(doc) };
    }
    return res;
  };
  return { ...conn, getText };
}
