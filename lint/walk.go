package lint

import "google.golang.org/protobuf/reflect/protoreflect"

// walk visits every node of type T (a function call, a table name) in a parse tree, depth
// first, until fn returns false.
func walk[T any](m protoreflect.Message, fn func(T) bool) bool {
	return walkAll(m, func(m protoreflect.Message) bool {
		if x, ok := m.Interface().(T); ok {
			return fn(x)
		}
		return true
	})
}

// walkAll visits every node of a parse tree, depth first, until fn returns false. It goes
// through protobuf reflection so no node type can be missed.
func walkAll(m protoreflect.Message, fn func(protoreflect.Message) bool) bool {
	if !fn(m) {
		return false
	}
	cont := true
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len() && cont; i++ {
				cont = walkAll(l.Get(i).Message(), fn)
			}
			return cont
		}
		cont = walkAll(v.Message(), fn)
		return cont
	})
	return cont
}
