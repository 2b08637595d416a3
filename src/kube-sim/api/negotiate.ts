/**
 * Content negotiation as the apiserver does it for the media types kubectl and client-go send.
 */

/** What the client asked the response to be. */
export type ResponseShape =
  | { as: 'object' }
  | { as: 'Table' }
  | { as: 'PartialObjectMetadata' }
  | { as: 'APIGroupDiscoveryList'; version: 'v2' | 'v2beta1' };

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseAccept(header: string | undefined): MediaRange[] {
  if (!header) return [{ type: '*/*', params: {} }];
  return header.split(',').map((part) => {
    const [type = '', ...rest] = part.trim().split(';');
    const params: Record<string, string> = {};
    for (const p of rest) {
      const [k, v] = p.split('=');
      if (k && v !== undefined) params[k.trim()] = v.trim();
    }
    return { type: type.trim().toLowerCase(), params };
  });
}

/**
 * Picks the response shape from Accept, first acceptable range first. Returns undefined when nothing acceptable is
 * offered (the caller answers 406). Protobuf ranges are skipped: kube-sim answers JSON, which kubectl accepts.
 */
export function negotiate(accept: string | undefined, options: { discovery: boolean }): ResponseShape | undefined {
  for (const range of parseAccept(accept)) {
    const jsonish = range.type === 'application/json' || range.type === '*/*' || range.type === 'application/*';
    if (!jsonish) continue;
    const as = range.params['as'];
    const g = range.params['g'];
    const v = range.params['v'];
    if (!as) return { as: 'object' };
    if (as === 'Table' && g === 'meta.k8s.io' && (v === 'v1' || v === 'v1beta1') && !options.discovery) return { as: 'Table' };
    if ((as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') && g === 'meta.k8s.io' && !options.discovery) {
      return { as: 'PartialObjectMetadata' };
    }
    if (as === 'APIGroupDiscoveryList' && g === 'apidiscovery.k8s.io' && options.discovery && (v === 'v2' || v === 'v2beta1')) {
      return { as: 'APIGroupDiscoveryList', version: v };
    }
  }
  return undefined;
}
