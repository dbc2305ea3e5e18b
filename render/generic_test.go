package render_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"github.com/schemahook/schemahook/render"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/randfill"
)

// roundTrip is what generic stands in for: json.Marshal, decoded with UseNumber.
func roundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&out))
	return out
}

// TestGenericAsJSON: on randomly filled Jobs, CronJobs and SealedSecrets (every field set
// or not, nil or empty, Quantities, IntOrStrings, times), generic gives what the
// encoding/json round trip gives.
func TestGenericAsJSON(t *testing.T) {
	f := randfill.NewWithSeed(1).NilChance(0.3).NumElements(0, 2).MaxDepth(12).Funcs(
		func(q *resource.Quantity, c randfill.Continue) {
			*q = *resource.NewMilliQuantity(int64(c.Uint64()%1e9), resource.DecimalSI)
		},
		func(x *metav1.FieldsV1, c randfill.Continue) {
			x.SetRawBytes(fmt.Appendf(nil, `{"f:%d":{}}`, c.Uint64()))
		},
		func(x *intstr.IntOrString, c randfill.Continue) {
			if c.Bool() {
				*x = intstr.FromInt32(int32(c.Uint64() % 65536))
			} else {
				*x = intstr.FromString(c.String(0))
			}
		},
	)
	for i := range 300 {
		var objs []any
		var job batchv1.Job
		var cron batchv1.CronJob
		var ss ssv1alpha1.SealedSecret
		f.Fill(&job)
		f.Fill(&cron)
		f.Fill(&ss)
		objs = append(objs, job, &job, cron, ss, job.Spec.Template.Spec)
		for _, o := range objs {
			got, ok := render.Generic(o)
			require.True(t, ok, "run %d: %T not mirrored", i, o)
			require.Equal(t, roundTrip(t, o), got, "run %d: %T", i, o)
		}
	}
}

// TestGenericRefuses: what generic does not mirror it says so, for encoding/json to do.
func TestGenericRefuses(t *testing.T) {
	type quoted struct {
		N int `json:"n,string"`
	}
	for _, v := range []any{
		quoted{N: 1},
		map[string]string{"k": "\xff"},
		map[int]string{1: "a"},
		math.Inf(1),
		"\xffbad",
		func() {},
	} {
		_, ok := render.Generic(v)
		require.False(t, ok, "%#v", v)
	}
}

// TestGenericEmbedding: encoding/json's rules for embedded structs, tags, omitzero,
// marshalers and numbers.
func TestGenericEmbedding(t *testing.T) {
	type inner struct {
		A, B string
		C    string `json:"c,omitempty"`
	}
	type Other struct{ A string }
	type outer struct {
		inner
		*Other
		B  string `json:"B"`
		Z  zeroer `json:"z,omitzero"`
		NZ zeroer `json:"nz,omitzero"`
		P  *int   `json:"p,omitempty"`
		X  []byte
		IP net.IP      // a TextMarshaler
		T  time.Time   // a Marshaler
		N  json.Number `json:",omitempty"`
		F  float32
	}
	for _, v := range []any{
		outer{inner: inner{A: "a", B: "b"}, B: "top", NZ: 1, X: []byte("hi"), IP: net.IPv4(10, 0, 0, 1), T: time.Unix(1e9, 5), N: "12.5e3", F: 1e-7},
		outer{inner: inner{C: "c"}, Other: &Other{A: "other"}},
		&outer{},
	} {
		got, ok := render.Generic(v)
		require.True(t, ok)
		require.Equal(t, roundTrip(t, v), got)
	}
}

type zeroer int

func (z zeroer) IsZero() bool { return z == 0 || z == 7 }
