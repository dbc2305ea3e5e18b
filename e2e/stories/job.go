package stories

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// jobConfig is a team's schemahook.yaml for a cluster that needs more of the hook pod: the
// CA bundle of the database server mounted from a Secret and named by PGSSLROOTCERT, which
// schemahook's Postgres driver reads (a missing or unreadable file fails the connection).
const jobConfig = `apiVersion: schemahook.dev/v1alpha1
kind: Database
metadata:
  name: payments
spec:
  url:
    secretKeyRef: {name: pg-credentials, key: url}
  job:
    env:
    - {name: PGSSLROOTCERT, value: /etc/pg-ca/ca.crt}
    volumes:
    - {name: pg-ca, secret: {secretName: pg-ca}}
    volumeMounts:
    - {name: pg-ca, mountPath: /etc/pg-ca, readOnly: true}
`

func init() { register("JobInRealCluster", storyJobInRealCluster) }

// The hook Job in a real cluster: a ServiceAccount (for cloud IAM), a toleration and a pull
// secret set per Application through plugin parameters, and a CA volume from
// schemahook.yaml. The namespace enforces the restricted Pod Security level, the
// ServiceAccount admission mounts the token, and the Job completes.
func storyJobInRealCluster(t *testing.T) {
	e := environment(t)
	const app, ns, db = "payments", "payments", "payments"
	ctx, agent, live := openApp(t, e, 10*time.Minute, app, ns, db)

	// What the platform team created in the namespace beforehand.
	core := e.cp.Client.CoreV1()
	_, err := core.ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name:        "payments-migrator",
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/payments-migrator"},
	}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = core.Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "registry-creds"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, caCert, err := sscrypto.GeneratePrivateKeyAndCert(2048, time.Hour, "payments-db-ca")
	require.NoError(t, err)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw})
	_, err = core.Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "pg-ca"},
		Data:       map[string][]byte{"ca.crt": caPEM},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	repo := newAppRepo(t, e, app, ns, e.pg.URL(db))
	require.NoError(t, os.WriteFile(filepath.Join(repo.dir, repo.appPath, "schemahook.yaml"), []byte(jobConfig), 0o644))
	rev := repo.addMigration(t, "20240101120000_create_payments.sql",
		"CREATE TABLE payments (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY\n);\n")
	params := []Param{
		StringParam("service-account", "payments-migrator"),
		ArrayParam("tolerations", "dedicated=db:NoSchedule"),
		ArrayParam("image-pull-secrets", "registry-creds"),
	}
	objs, err := e.cmp.Render(ctx, repo.dir, repo.appPath, app, ns, params...)
	require.NoError(t, err)

	res := syncApp(t, ctx, live, objs, rev)
	require.Equal(t, Succeeded, res.Phase, "sync: %s", res.Message)
	assert.Contains(t, hookMessage(t, e, ns, "payments-migrate"), "20240101120000_create_payments.sql")
	assert.Equal(t, "payments", psql(t, e, db, "select to_regclass('public.payments')::text"))

	// The pod as the API server admitted it.
	pod := hookPod(t, e, ns, "payments-migrate")
	spec := pod.Spec
	assert.Equal(t, "payments-migrator", spec.ServiceAccountName)
	assert.True(t, *spec.AutomountServiceAccountToken)
	var token bool
	for _, v := range spec.Volumes {
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				token = token || s.ServiceAccountToken != nil
			}
		}
	}
	assert.True(t, token, "the ServiceAccount admission mounted the token (IRSA, Workload Identity)")
	assert.Contains(t, spec.Tolerations, corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "db", Effect: corev1.TaintEffectNoSchedule})
	assert.Equal(t, []corev1.LocalObjectReference{{Name: "registry-creds"}}, spec.ImagePullSecrets)
	assert.Equal(t, "false", pod.Annotations["sidecar.istio.io/inject"], "mesh opt-out by default")
	var mounts []string
	for _, m := range spec.Containers[0].VolumeMounts {
		mounts = append(mounts, m.MountPath)
	}
	assert.Contains(t, mounts, "/etc/pg-ca")

	// The CA file is really read: with a CA Secret that holds no certificate, the hook
	// cannot connect and the sync fails, naming the cause.
	_, err = core.Secrets(ns).Update(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "pg-ca"},
		Data:       map[string][]byte{"ca.crt": []byte("not a certificate\n")},
	}, metav1.UpdateOptions{})
	require.NoError(t, err)
	res = syncApp(t, ctx, live, objs, rev)
	require.Equal(t, Failed, res.Phase, "a sync with a broken CA file fails: %s", res.Message)
	term := hookTermination(t, e, ns, "payments-migrate")
	assert.EqualValues(t, 1, term.ExitCode, "a CA file that is not one is a configuration error")
	assert.Contains(t, term.Message, "holds no PEM certificate")
	assert.Contains(t, term.Message, "sslrootcert=")
	require.Len(t, agent.Pods(), 2, "one hook pod per sync")
}

// hookPod is the current migrate Job's pod as the API server admitted it.
func hookPod(t *testing.T, e *env, ns, jobName string) corev1.Pod {
	t.Helper()
	pods := jobPods(t, e, ns, jobName)
	require.Len(t, pods, 1)
	require.True(t, strings.HasPrefix(pods[0].Name, jobName))
	return pods[0]
}
