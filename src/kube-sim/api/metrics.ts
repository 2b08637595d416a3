/**
 * The apiserver metrics kube-sim exposes at /metrics in Prometheus text format: request counts by verb and resource
 * (what the drain benchmark compares), apiserver_requested_deprecated_apis (what deprecated-API checks read), and
 * kube-sim's own kubesim_request_bodies_total (writes by body media type, what the client tests assert).
 */

/** Labels of one counted request. */
export interface RequestLabels {
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: string;
  code: number;
}

/** Labels of one counted request body (a create, update or patch). */
export interface BodyLabels {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  /** The media type of the request's Content-Type, '' when none was sent. */
  contentType: string;
  code: number;
}

/** Counters and gauges of one simulated apiserver. */
export class ApiMetrics {
  private readonly requests = new Map<string, number>();
  private readonly bodies = new Map<string, number>();
  private readonly deprecated = new Map<string, { group: string; version: string; resource: string; removedRelease: string }>();
  private total = 0;

  /** Counts a resource request. */
  recordRequest(labels: RequestLabels): void {
    const key = JSON.stringify(labels);
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  /**
   * Counts a write's request body by its media type: kube-sim's own counter (the apiserver has none), which shows what
   * a client really sent (client-go's typed clients send protobuf, kubectl JSON, apply YAML).
   */
  recordBody(labels: BodyLabels): void {
    const key = JSON.stringify(labels);
    this.bodies.set(key, (this.bodies.get(key) ?? 0) + 1);
  }

  /** Counts any HTTP request (discovery and health included). */
  recordHttp(): void {
    this.total += 1;
  }

  /** Marks a deprecated group/version/resource as requested. */
  recordDeprecated(group: string, version: string, resource: string, removedRelease: string): void {
    this.deprecated.set(`${group}/${version}/${resource}`, { group, version, resource, removedRelease });
  }

  /** Total HTTP requests served, every path. */
  totalHttpRequests(): number {
    return this.total;
  }

  /** Forgets every counter (benchmarks reset between runs). */
  reset(): void {
    this.requests.clear();
    this.bodies.clear();
    this.total = 0;
  }

  /** Prometheus text exposition. */
  render(): string {
    const lines: string[] = [
      '# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
      '# TYPE apiserver_request_total counter',
    ];
    for (const [key, count] of this.requests) {
      const l = JSON.parse(key) as RequestLabels;
      lines.push(
        `apiserver_request_total{code="${l.code}",component="apiserver",dry_run="",group="${l.group}",resource="${l.resource}",scope="${l.scope}",subresource="${l.subresource}",verb="${l.verb}",version="${l.version}"} ${count}`,
      );
    }
    lines.push(
      '# HELP apiserver_requested_deprecated_apis [STABLE] Gauge of deprecated APIs that have been requested, broken out by API group, version, resource, subresource, and removed_release.',
      '# TYPE apiserver_requested_deprecated_apis gauge',
    );
    for (const d of this.deprecated.values()) {
      lines.push(
        `apiserver_requested_deprecated_apis{group="${d.group}",removed_release="${d.removedRelease}",resource="${d.resource}",subresource="",version="${d.version}"} 1`,
      );
    }
    lines.push(
      '# HELP kubesim_request_bodies_total Create, update and patch requests kube-sim answered, by the media type of their body.',
      '# TYPE kubesim_request_bodies_total counter',
    );
    for (const [key, count] of this.bodies) {
      const l = JSON.parse(key) as BodyLabels;
      lines.push(
        `kubesim_request_bodies_total{code="${l.code}",content_type=${JSON.stringify(l.contentType)},group="${l.group}",resource="${l.resource}",subresource="${l.subresource}",verb="${l.verb}"} ${count}`,
      );
    }
    lines.push('# HELP kubesim_http_requests_total Every HTTP request kube-sim answered, discovery and health included.');
    lines.push('# TYPE kubesim_http_requests_total counter');
    lines.push(`kubesim_http_requests_total ${this.total}`);
    return lines.join('\n') + '\n';
  }
}
