/**
 * What the local cluster's control API and the local provider agree on: where the API is announced and the path of
 * its resources. (The requests and replies are kube-sim's infrastructure protocol, read by src/providers/sim/wire.ts.)
 */

/** The path prefix of the control API's resources. */
export const LOCAL_API_PREFIX = '/local/v1';
/** The name of the kubeconfig cluster extension that holds the control API's URL (`{server: URL}`). */
export const LOCAL_CONTROL_EXTENSION = 'kup.dev/local-control-api';
