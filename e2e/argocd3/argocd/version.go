package argocd

import "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"

// What Argo CD v3 does differently from v2 (e2e/argocd/version.go); the rest of the package
// is generated from e2e/argocd (go run ./gen).

// Version is the argo-cd/v3 version go.mod requires (a test keeps them equal: test binaries
// carry no dependency list to read it from).
const Version = "v3.3.9"

// TrackingMethod is v3's default resource tracking (argocd-cm's
// application.resourceTrackingMethod unset): the argocd.argoproj.io/tracking-id annotation,
// "<app>:<group>/<kind>:<namespace>/<name>".
const TrackingMethod = v1alpha1.TrackingMethodAnnotation
