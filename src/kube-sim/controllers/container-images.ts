/** Image references as a container runtime reports them: shared by the kubelets and the container faults. */
import { createHash } from 'node:crypto';

/** `docker.io/library/nginx:latest` for `nginx`: the image reference as containerd reports it. */
export function normalizeImage(image: string): string {
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  let ref = hasRegistry ? image : `docker.io/${slash < 0 ? 'library/' : ''}${image}`;
  const lastSegment = ref.slice(ref.lastIndexOf('/') + 1);
  if (!lastSegment.includes(':') && !ref.includes('@')) ref += ':latest';
  return ref;
}

/** The image ID (repository digest) of a pulled image: stable per reference. */
export function imageIdFor(image: string): string {
  const repository = image.replace(/@.*$/, '').replace(/:[^:/]*$/, '');
  const digest = createHash('sha256').update(`image/${image}`).digest('hex');
  return `${repository}@sha256:${digest}`;
}
