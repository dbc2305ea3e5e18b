package render

// YAMLKeyLess is yaml.v2's order of two string keys, for the tests of encodeData.
func YAMLKeyLess(a, b string) bool { return yamlKeyLess([]rune(a), []rune(b)) }
