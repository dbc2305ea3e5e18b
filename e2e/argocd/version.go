package argocd

import "github.com/argoproj/argo-cd/v2/util/argo"

// What differs from Argo CD v3 (e2e/argocd3/argocd/version.go); the rest of the package is
// the same code for both.

// Version is the argo-cd/v2 version go.mod requires (a test keeps them equal: test binaries
// carry no dependency list to read it from).
const Version = "v2.14.21"

// TrackingMethod is v2's default resource tracking (argocd-cm's
// application.resourceTrackingMethod unset): the AppLabelKey label.
const TrackingMethod = argo.TrackingMethodLabel
