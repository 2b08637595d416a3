// Command client-go-harness drives kube-sim with client-go's typed clients, as an operator's Go tooling does, and
// prints one JSON line per command for the tests to assert on. It is test code of kup, built into .cache/ by the
// test run. Request bodies go in client-go's defaults: protobuf for typed creates, updates and UpdateScale, JSON for
// patches, YAML for server-side apply.
//
//	client-go-harness -kubeconfig FILE [-namespace NS] COMMAND ARGS...
//
// Commands: create-configmap NAME KEY=VALUE | update-configmap NAME KEY=VALUE | get-deployment NAME |
// patch-deployment NAME LABEL=VALUE | scale-deployment NAME REPLICAS | apply-deployment NAME IMAGE REPLICAS |
// create-job NAME COMPLETIONS PARALLELISM | wait-job NAME SECONDS
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	namespace := flag.String("namespace", "default", "namespace")
	flag.Parse()
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail(err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		fail(err)
	}
	args := flag.Args()
	if len(args) == 0 {
		fail(fmt.Errorf("no command"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := run(ctx, client, *namespace, args[0], args[1:])
	if err != nil {
		fail(err)
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

func run(ctx context.Context, client kubernetes.Interface, ns, command string, args []string) (any, error) {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		fail(fmt.Errorf("%s: missing argument %d", command, i+1))
		return ""
	}
	switch command {
	case "create-configmap":
		key, value, _ := strings.Cut(arg(1), "=")
		cm, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: arg(0)},
			Data:       map[string]string{key: value},
		}, metav1.CreateOptions{FieldManager: "kup-harness"})
		if err != nil {
			return nil, err
		}
		return map[string]any{"name": cm.Name, "uid": cm.UID, "data": cm.Data, "managers": managers(cm.ManagedFields)}, nil
	case "update-configmap":
		// Read-modify-write with the typed Update, retried on a conflict.
		key, value, _ := strings.Cut(arg(1), "=")
		var cm *corev1.ConfigMap
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			current, err := client.CoreV1().ConfigMaps(ns).Get(ctx, arg(0), metav1.GetOptions{})
			if err != nil {
				return err
			}
			if current.Data == nil {
				current.Data = map[string]string{}
			}
			current.Data[key] = value
			cm, err = client.CoreV1().ConfigMaps(ns).Update(ctx, current, metav1.UpdateOptions{FieldManager: "kup-harness"})
			return err
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"name": cm.Name, "data": cm.Data, "managers": managers(cm.ManagedFields)}, nil
	case "create-job":
		completions, err := strconv.Atoi(arg(1))
		if err != nil {
			return nil, err
		}
		parallelism, err := strconv.Atoi(arg(2))
		if err != nil {
			return nil, err
		}
		job, err := client.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: arg(0)},
			Spec: batchv1.JobSpec{
				Completions: ptr(int32(completions)),
				Parallelism: ptr(int32(parallelism)),
				Template: corev1.PodTemplateSpec{
					Spec: corev1.PodSpec{
						RestartPolicy: corev1.RestartPolicyNever,
						Containers:    []corev1.Container{{Name: "work", Image: "busybox:1.36", Command: []string{"sleep", "1"}}},
					},
				},
			},
		}, metav1.CreateOptions{FieldManager: "kup-harness"})
		if err != nil {
			return nil, err
		}
		// The API server defaults the selector and the pod labels that tie the Job to its pods.
		var selectorLabels map[string]string
		if job.Spec.Selector != nil {
			selectorLabels = job.Spec.Selector.MatchLabels
		}
		return map[string]any{
			"name":           job.Name,
			"completions":    *job.Spec.Completions,
			"backoffLimit":   job.Spec.BackoffLimit,
			"selectorLabels": selectorLabels,
			"managers":       managers(job.ManagedFields),
		}, nil
	case "get-deployment":
		d, err := client.AppsV1().Deployments(ns).Get(ctx, arg(0), metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return map[string]any{"name": d.Name, "replicas": *d.Spec.Replicas, "readyReplicas": d.Status.ReadyReplicas, "managers": managers(d.ManagedFields)}, nil
	case "patch-deployment":
		key, value, _ := strings.Cut(arg(1), "=")
		patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{"labels": map[string]string{key: value}}}}})
		d, err := client.AppsV1().Deployments(ns).Patch(ctx, arg(0), types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if err != nil {
			return nil, err
		}
		return map[string]any{"templateLabels": d.Spec.Template.Labels, "generation": d.Generation}, nil
	case "scale-deployment":
		replicas, err := strconv.Atoi(arg(1))
		if err != nil {
			return nil, err
		}
		// Read-modify-write of the Scale, retried on a conflict as client-go's users do: the Deployment's controllers
		// write its status between the read and the write.
		var before int32
		var updated *autoscalingv1.Scale
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			scale, err := client.AppsV1().Deployments(ns).GetScale(ctx, arg(0), metav1.GetOptions{})
			if err != nil {
				return err
			}
			before = scale.Spec.Replicas
			scale.Spec.Replicas = int32(replicas)
			updated, err = client.AppsV1().Deployments(ns).UpdateScale(ctx, arg(0), scale, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"before": before, "replicas": updated.Spec.Replicas, "selector": updated.Status.Selector}, nil
	case "apply-deployment":
		replicas, err := strconv.Atoi(arg(2))
		if err != nil {
			return nil, err
		}
		labels := map[string]string{"app": arg(0)}
		config := appsv1ac.Deployment(arg(0), ns).
			WithLabels(labels).
			WithSpec(appsv1ac.DeploymentSpec().
				WithReplicas(int32(replicas)).
				WithSelector(metav1ac.LabelSelector().WithMatchLabels(labels)).
				WithTemplate(corev1ac.PodTemplateSpec().
					WithLabels(labels).
					WithSpec(corev1ac.PodSpec().WithContainers(corev1ac.Container().WithName("main").WithImage(arg(1))))))
		d, err := client.AppsV1().Deployments(ns).Apply(ctx, config, metav1.ApplyOptions{FieldManager: "kup-harness", Force: true})
		if err != nil {
			return nil, err
		}
		return map[string]any{"name": d.Name, "replicas": *d.Spec.Replicas, "image": d.Spec.Template.Spec.Containers[0].Image, "managers": managers(d.ManagedFields)}, nil
	case "wait-job":
		seconds, err := strconv.Atoi(arg(1))
		if err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, time.Duration(seconds)*time.Second)
		defer cancel()
		w, err := client.BatchV1().Jobs(ns).Watch(wctx, metav1.ListOptions{FieldSelector: "metadata.name=" + arg(0)})
		if err != nil {
			return nil, err
		}
		defer w.Stop()
		for event := range w.ResultChan() {
			job, ok := event.Object.(*batchv1.Job)
			if !ok || event.Type == watch.Deleted {
				continue
			}
			for _, c := range job.Status.Conditions {
				if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
					return map[string]any{"name": job.Name, "succeeded": job.Status.Succeeded, "completionTime": job.Status.CompletionTime != nil}, nil
				}
			}
		}
		return nil, fmt.Errorf("job %s/%s did not complete in %ds", ns, arg(0), seconds)
	default:
		return nil, fmt.Errorf("unknown command %q", command)
	}
}

// managers lists "manager/operation" of each managedFields entry.
func managers(entries []metav1.ManagedFieldsEntry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, fmt.Sprintf("%s/%s", e.Manager, e.Operation))
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}
