/**
 * The service's inspections of a cluster (the status cache's rounds, GET /clusters/{name}) go over the connections
 * the first one opened: a fleet of 1,000 clusters refreshed every 15 s was 1,000 TLS handshakes a round.
 */
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { SimCluster } from '../../src/kube-sim/sim-cluster.ts';
import { startFromYaml } from '../helpers/sim.ts';
import type { TestService } from './helpers.ts';
import { startService } from './helpers.ts';

let sim: SimCluster;
let svc: TestService;
let proxy: Server;
let connections = 0;

before(async () => {
  sim = await startFromYaml(`
kubernetesVersion: '1.35.5'
pools:
  - name: workers
    nodes: 2
`);
  const target = new URL(sim.url);
  // Counts the TCP connections the service opens to the cluster.
  proxy = createServer((client) => {
    connections++;
    const upstream = connect(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  svc = await startService();
});

after(async () => {
  await svc?.close();
  proxy?.close();
  await sim?.stop();
});

describe('inspections of a registered cluster', () => {
  it('reuse the connections of the first one', async () => {
    const through = `https://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const kubeconfig = sim.kubeconfig.split(sim.url).join(through);
    assert.notEqual(kubeconfig, sim.kubeconfig, 'the kubeconfig goes through the proxy');
    const res = await svc.call('POST', '/api/v1/clusters', { body: { name: 'counted', provider: 'sim', kubeconfig } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.health.reachable, true);
    assert.deepEqual(
      (res.body.pools as { name: string; nodes: number }[]).map((p) => [p.name, p.nodes]),
      [['workers', 2]],
    );
    const opened = connections;
    assert.ok(opened > 0);
    for (let i = 0; i < 5; i++) {
      const again = await svc.call('GET', '/api/v1/clusters/counted');
      assert.equal(again.status, 200);
      assert.equal(again.body.health.reachable, true);
      assert.notEqual(again.body.pools, null);
    }
    assert.equal(connections, opened, 'five more inspections, no new connection');
  });
});
