package render

import "reflect"

// YAMLKeyLess is yaml.v2's order of two string keys, for the tests of planData.
func YAMLKeyLess(a, b string) bool { return yamlKeyLess([]rune(a), []rune(b)) }

// Generic is generic on a value as json.Marshal sees it (not addressable).
func Generic(v any) (any, bool) { return generic(reflect.ValueOf(v)) }
