/**
 * Reading container image references: the repository and the tag (`registry.k8s.io/kube-apiserver:v1.30.4` is
 * `registry.k8s.io/kube-apiserver` at `v1.30.4`), and which cluster component an image is.
 *
 * @module
 */

/** The repository and tag of an image reference (digest removed; tag `latest` when none). */
export function parseImage(image: string): { repository: string; tag: string } {
  const noDigest = image.split('@')[0] ?? image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  if (colon > slash) return { repository: noDigest.slice(0, colon), tag: noDigest.slice(colon + 1) };
  return { repository: noDigest, tag: 'latest' };
}

/** The last path segment of the repository (`registry.k8s.io/coredns/coredns` is `coredns`). */
export function imageName(image: string): string {
  const { repository } = parseImage(image);
  return repository.slice(repository.lastIndexOf('/') + 1);
}

/** A component the catalog's compatibility table knows, with how to recognise its image. */
interface ComponentImage {
  readonly component: string;
  readonly matches: (repository: string) => boolean;
}

const last = (repository: string): string => repository.slice(repository.lastIndexOf('/') + 1);

/** Components whose versions the catalog tracks, recognised by image repository. */
const COMPONENT_IMAGES: readonly ComponentImage[] = [
  { component: 'coredns', matches: (r) => last(r) === 'coredns' },
  { component: 'kube-proxy', matches: (r) => last(r) === 'kube-proxy' },
  { component: 'calico', matches: (r) => /(^|\/)calico\/node$/.test(r) || last(r) === 'calico-node' },
  { component: 'cilium', matches: (r) => /(^|\/)cilium\/cilium$/.test(r) },
  { component: 'flannel', matches: (r) => /(^|\/)(flannel|flannelcni|flannel-io)\/flannel$/.test(r) },
  { component: 'ingress-nginx', matches: (r) => /(^|\/)ingress-nginx\/controller$/.test(r) },
];

/** The catalog component an image is, if any. */
export function componentOfImage(image: string): string | undefined {
  const { repository } = parseImage(image);
  return COMPONENT_IMAGES.find((c) => c.matches(repository))?.component;
}
