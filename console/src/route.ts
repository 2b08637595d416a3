/**
 * The console's pages, addressed by the URL's hash (`#/clusters/prod`), so `kup serve` serves one file for every page
 * and a reload or a shared link opens the same page.
 *
 * @module
 */
import { useEffect, useState } from 'react';

/** A page of the console. */
export type Route =
  | { readonly page: 'fleet' }
  | { readonly page: 'cluster'; readonly cluster: string; readonly tab: ClusterTab }
  | { readonly page: 'run'; readonly runId: string };

/** Tabs of the cluster page. */
export type ClusterTab = 'overview' | 'insights' | 'history' | 'snapshots';

const TABS: readonly ClusterTab[] = ['overview', 'insights', 'history', 'snapshots'];

/** The route of a hash. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'clusters' && parts[1]) {
    const tab = TABS.find((t) => t === parts[2]) ?? 'overview';
    return { page: 'cluster', cluster: parts[1], tab };
  }
  if (parts[0] === 'runs' && parts[1]) return { page: 'run', runId: parts[1] };
  return { page: 'fleet' };
}

/** The hash of a route, for links. */
export function href(route: Route): string {
  switch (route.page) {
    case 'fleet':
      return '#/';
    case 'cluster':
      return `#/clusters/${encodeURIComponent(route.cluster)}${route.tab === 'overview' ? '' : `/${route.tab}`}`;
    case 'run':
      return `#/runs/${encodeURIComponent(route.runId)}`;
  }
}

/** The current route, following the hash. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
