"""Drives kube-sim with the official Python client (kubernetes on PyPI), as an operator's scripts do, and prints one
JSON line per command for the tests to assert on.

    harness.py KUBECONFIG COMMAND ARGS...

Commands: create-configmap NAME KEY=VALUE | patch-deployment NAME LABEL=VALUE | merge-patch-deployment NAME IMAGE |
scale-deployment NAME REPLICAS | replace-scale NAME REPLICAS | apply-deployment NAME IMAGE REPLICAS |
create-job NAME COMPLETIONS PARALLELISM | wait-job NAME SECONDS
"""

import json
import sys

from kubernetes import client, config, dynamic, watch


def main() -> None:
    kubeconfig, command, *args = sys.argv[1:]
    api_client = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api_client)
    apps = client.AppsV1Api(api_client)
    batch = client.BatchV1Api(api_client)
    ns = "default"
    if command == "create-configmap":
        key, value = args[1].split("=", 1)
        body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=args[0]), data={key: value})
        cm = core.create_namespaced_config_map(ns, body)
        out = {"name": cm.metadata.name, "data": cm.data, "managers": managers(cm)}
    elif command == "patch-deployment":
        key, value = args[1].split("=", 1)
        patch = {"spec": {"template": {"metadata": {"labels": {key: value}}}}}
        d = apps.patch_namespaced_deployment(args[0], ns, patch)  # strategic merge patch by default
        out = {"templateLabels": d.spec.template.metadata.labels, "generation": d.metadata.generation}
    elif command == "merge-patch-deployment":
        # A JSON merge patch replaces the containers list whole, unlike the strategic one.
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": args[1]}]}}}}
        d = apps.patch_namespaced_deployment(args[0], ns, patch, _content_type="application/merge-patch+json")
        out = {"containers": [[c.name, c.image] for c in d.spec.template.spec.containers]}
    elif command == "replace-scale":
        # Read-modify-write of the Scale with PUT, retried on a conflict: the Deployment's controllers write between.
        for _ in range(5):
            scale = apps.read_namespaced_deployment_scale(args[0], ns)
            before = scale.spec.replicas
            scale.spec.replicas = int(args[1])
            try:
                scale = apps.replace_namespaced_deployment_scale(args[0], ns, scale)
                break
            except client.ApiException as err:
                if err.status != 409:
                    raise
        else:
            raise SystemExit("replace-scale: still conflicting after 5 tries")
        out = {"kind": scale.kind, "before": before, "replicas": scale.spec.replicas, "selector": scale.status.selector}
    elif command == "create-job":
        completions, parallelism = int(args[1]), int(args[2])
        container = client.V1Container(name="work", image="busybox:1.36", command=["sleep", "1"])
        body = client.V1Job(
            metadata=client.V1ObjectMeta(name=args[0]),
            spec=client.V1JobSpec(
                completions=completions,
                parallelism=parallelism,
                template=client.V1PodTemplateSpec(
                    spec=client.V1PodSpec(restart_policy="Never", containers=[container])
                ),
            ),
        )
        job = batch.create_namespaced_job(ns, body)
        out = {
            "name": job.metadata.name,
            "completions": job.spec.completions,
            "backoffLimit": job.spec.backoff_limit,
            "selectorLabels": job.spec.selector.match_labels if job.spec.selector else None,
        }
    elif command == "wait-job":
        out = wait_job(batch, core, ns, args[0], int(args[1]))
    elif command == "scale-deployment":
        scale = apps.patch_namespaced_deployment_scale(args[0], ns, {"spec": {"replicas": int(args[1])}})
        out = {"kind": scale.kind, "replicas": scale.spec.replicas, "selector": scale.status.selector}
    elif command == "apply-deployment":
        name, image, replicas = args[0], args[1], int(args[2])
        labels = {"app": name}
        manifest = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": image}]}},
            },
        }
        deployments = dynamic.DynamicClient(api_client).resources.get(api_version="apps/v1", kind="Deployment")
        d = deployments.server_side_apply(body=manifest, namespace=ns, field_manager="kup-python", force_conflicts=True)
        out = {
            "replicas": d.spec.replicas,
            "image": d.spec.template.spec.containers[0].image,
            "managers": [f"{m.manager}/{m.operation}" for m in d.metadata.managedFields],
        }
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(out))


def wait_job(batch, core, ns: str, name: str, seconds: int) -> dict:
    """Watches one Job until it is Complete (or Failed), for at most `seconds`, as `kubectl wait` does."""
    w = watch.Watch()
    stream = w.stream(
        batch.list_namespaced_job, ns, field_selector=f"metadata.name={name}", timeout_seconds=seconds
    )
    for event in stream:
        job = event["object"]
        if event["type"] == "DELETED":
            continue
        conditions = {c.type: c.status for c in (job.status.conditions or [])}
        if conditions.get("Failed") == "True":
            w.stop()
            raise SystemExit(f"job {ns}/{name} failed")
        if conditions.get("Complete") == "True":
            w.stop()
            pods = core.list_namespaced_pod(ns, label_selector=f"batch.kubernetes.io/job-name={name}").items
            return {
                "name": name,
                "succeeded": job.status.succeeded,
                "completionTime": job.status.completion_time is not None,
                "podPhases": sorted(p.status.phase for p in pods),
            }
    raise SystemExit(f"job {ns}/{name} did not complete in {seconds}s")


def managers(obj) -> list:
    return [f"{m.manager}/{m.operation}" for m in (obj.metadata.managed_fields or [])]


if __name__ == "__main__":
    main()
