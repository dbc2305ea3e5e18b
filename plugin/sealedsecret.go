package plugin

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sealedSecret is sealed-secrets' v1alpha1.SealedSecret (v0.27) field for field, as JSON:
// what generate decodes strictly and seal writes. It is a copy rather than an import because
// that package registers its types with client-go's scheme at init, which built all of
// client-go's API types into the scheme on every start of every command (the largest part
// of start-up). TestSealedSecretMirrorsUpstream keeps the two in step.
type sealedSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   sealedSecretSpec    `json:"spec"`
	Status *sealedSecretStatus `json:"status,omitempty"`
}

type sealedSecretSpec struct {
	Template secretTemplateSpec `json:"template,omitempty"`
	// Data is sealed-secrets' deprecated single-blob form.
	Data          []byte              `json:"data,omitempty"`
	EncryptedData sealedEncryptedData `json:"encryptedData"`
}

type secretTemplateSpec struct {
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Type      corev1.SecretType `json:"type,omitempty"`
	Immutable *bool             `json:"immutable,omitempty"`
	Data      map[string]string `json:"data,omitempty"`
}

// sealedEncryptedData decodes leniently, as upstream's does: the controller does not refuse
// a SealedSecret for the shape of its values.
type sealedEncryptedData map[string]string

func (s *sealedEncryptedData) UnmarshalJSON(data []byte) error {
	tmp := map[string]string{}
	_ = json.Unmarshal(data, &tmp)
	*s = tmp
	return nil
}

type sealedSecretStatus struct {
	ObservedGeneration int64                   `json:"observedGeneration,omitempty"`
	Conditions         []sealedSecretCondition `json:"conditions,omitempty"`
}

type sealedSecretCondition struct {
	Type               string                 `json:"type"`
	Status             corev1.ConditionStatus `json:"status"`
	LastUpdateTime     metav1.Time            `json:"lastUpdateTime,omitempty"`
	LastTransitionTime metav1.Time            `json:"lastTransitionTime,omitempty"`
	Reason             string                 `json:"reason,omitempty"`
	Message            string                 `json:"message,omitempty"`
}
