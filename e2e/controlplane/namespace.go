package controlplane

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CreateRestrictedNamespace creates a namespace enforcing the restricted Pod Security level,
// as a platform team would for application workloads, and waits for its default
// ServiceAccount, without which no pod can be admitted.
func (cp *ControlPlane) CreateRestrictedNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
	}}}
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := cp.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s: no default ServiceAccount after 30s: %w", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
