"""Drives kube-sim with the official Python client (kubernetes on PyPI), as an operator's scripts do, and prints one
JSON line per command for the tests to assert on.

    harness.py KUBECONFIG COMMAND ARGS...

Commands: create-configmap NAME KEY=VALUE | patch-deployment NAME LABEL=VALUE | scale-deployment NAME REPLICAS |
apply-deployment NAME IMAGE REPLICAS
"""

import json
import sys

from kubernetes import client, config, dynamic


def main() -> None:
    kubeconfig, command, *args = sys.argv[1:]
    api_client = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api_client)
    apps = client.AppsV1Api(api_client)
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


def managers(obj) -> list:
    return [f"{m.manager}/{m.operation}" for m in (obj.metadata.managed_fields or [])]


if __name__ == "__main__":
    main()
