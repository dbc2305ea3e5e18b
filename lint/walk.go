package lint

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// walk visits every function call in a parse tree, depth first, until fn returns false.
func walk(m protoreflect.Message, fn func(*pg_query.FuncCall) bool) bool {
	return walkAll(m, func(m protoreflect.Message) bool {
		if fc, ok := m.Interface().(*pg_query.FuncCall); ok {
			return fn(fc)
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
