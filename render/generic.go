package render

import (
	"bytes"
	"cmp"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// generic is what decoding json.Marshal(v.Interface()) into an any with UseNumber gives,
// built by walking v. encoding/json builds, on its first use of a type, the encoder of
// every type reachable from it: for a Job, all of corev1's pod types, 3 ms of every
// generate although a Job holds a few dozen of them. generic looks only at the types v
// holds. ok is false for what it does not mirror (a ",string" field, a string that is
// not UTF-8, a map key that is not a string, a float that is not finite, ...): the
// caller then goes through encoding/json.
func generic(v reflect.Value) (out any, ok bool) {
	t := v.Type()
	// Marshalers first, in encoding/json's order (newTypeEncoder): a pointer method is
	// used only when v is addressable.
	switch m := marshalersOf(t); {
	case m.ptrJSON && v.CanAddr():
		return marshaled(v.Addr(), false)
	case m.json:
		return marshaled(v, false)
	case m.ptrText && v.CanAddr():
		return marshaled(v.Addr(), true)
	case m.text:
		return marshaled(v, true)
	}
	switch t.Kind() {
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(v.Int(), 10)), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return json.Number(strconv.FormatUint(v.Uint(), 10)), true
	case reflect.Float32, reflect.Float64:
		return genericFloat(v.Float(), t.Bits())
	case reflect.String:
		s := v.String()
		if t == numberType {
			if s == "" {
				s = "0"
			}
			return json.Number(s), json.Valid([]byte(s)) && s[0] != '"' && s[0] != '[' && s[0] != '{'
		}
		return s, utf8.ValidString(s)
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return nil, true
		}
		return generic(v.Elem())
	case reflect.Struct:
		return genericStruct(v)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, false
		}
		if v.IsNil() {
			return nil, true
		}
		m := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			k := it.Key().String()
			if !utf8.ValidString(k) {
				return nil, false
			}
			if m[k], ok = generic(it.Value()); !ok {
				return nil, false
			}
		}
		return m, true
	case reflect.Slice:
		if v.IsNil() {
			return nil, true
		}
		if m := marshalersOf(t.Elem()); t.Elem().Kind() == reflect.Uint8 && !m.ptrJSON && !m.ptrText {
			return base64.StdEncoding.EncodeToString(v.Bytes()), true
		}
		return genericList(v)
	case reflect.Array:
		return genericList(v)
	}
	return nil, false
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()
	numberType        = reflect.TypeFor[json.Number]()
)

// marshalers says which marshaler methods a type has: json and text on the type itself,
// ptrJSON and ptrText on a pointer to it (a type that is not itself a pointer).
type marshalers struct{ json, text, ptrJSON, ptrText bool }

var marshalerCache sync.Map // reflect.Type -> marshalers

func marshalersOf(t reflect.Type) marshalers {
	if m, ok := marshalerCache.Load(t); ok {
		return m.(marshalers)
	}
	m := marshalers{json: t.Implements(marshalerType), text: t.Implements(textMarshalerType)}
	if t.Kind() != reflect.Pointer {
		p := reflect.PointerTo(t)
		m.ptrJSON, m.ptrText = p.Implements(marshalerType), p.Implements(textMarshalerType)
	}
	marshalerCache.Store(t, m)
	return m
}

func genericList(v reflect.Value) (any, bool) {
	out := make([]any, v.Len())
	for i := range out {
		var ok bool
		if out[i], ok = generic(v.Index(i)); !ok {
			return nil, false
		}
	}
	return out, true
}

// genericFloat writes f as encoding/json's floatEncoder does and reads it back as a number.
func genericFloat(f float64, bits int) (any, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b := strconv.AppendFloat(nil, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return json.Number(b), true
}

// marshaled is encoding/json's marshalerEncoder (text false, read back with UseNumber) or
// textMarshalerEncoder (text true, a string).
func marshaled(v reflect.Value, text bool) (any, bool) {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, true
	}
	var b []byte
	var err error
	if text {
		m, ok := v.Interface().(encoding.TextMarshaler)
		if !ok {
			return nil, true // a nil interface
		}
		b, err = m.MarshalText()
	} else {
		m, ok := v.Interface().(json.Marshaler)
		if !ok {
			return nil, true
		}
		b, err = m.MarshalJSON()
	}
	if err != nil || !utf8.Valid(b) {
		return nil, false
	}
	if text {
		return string(b), true
	}
	var out any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if !json.Valid(b) || dec.Decode(&out) != nil {
		return nil, false
	}
	return out, true
}

// genericStruct is encoding/json's structEncoder.
func genericStruct(v reflect.Value) (any, bool) {
	fields, ok := structFields(v.Type())
	if !ok {
		return nil, false
	}
	out := make(map[string]any, len(fields))
next:
	for i := range fields {
		f := &fields[i]
		fv := v
		for _, j := range f.index {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue next
				}
				fv = fv.Elem()
			}
			fv = fv.Field(j)
		}
		if f.omitEmpty && emptyValue(fv) || f.omitZero && zeroValue(fv, f.zeroer) {
			continue
		}
		if out[f.name], ok = generic(fv); !ok {
			return nil, false
		}
	}
	return out, true
}

// emptyValue is encoding/json's isEmptyValue, what omitempty omits.
func emptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// zeroValue is what omitzero omits: the field's IsZero method when its type has one
// (encoding/json's typeFields), else the zero value.
func zeroValue(v reflect.Value, zeroer bool) bool {
	if !zeroer {
		return v.IsZero()
	}
	t := v.Type()
	switch {
	case t.Kind() == reflect.Interface:
		return v.IsNil() || v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() ||
			v.Interface().(interface{ IsZero() bool }).IsZero()
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return v.IsNil() || v.Interface().(interface{ IsZero() bool }).IsZero()
	case t.Implements(isZeroerType):
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	}
	if !v.CanAddr() {
		v2 := reflect.New(t).Elem()
		v2.Set(v)
		v = v2
	}
	return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
}

// field is a struct field as encoding/json writes it.
type field struct {
	name      string
	tag       bool
	index     []int
	omitEmpty bool
	omitZero  bool
	zeroer    bool // the field's type (or a pointer to it) has IsZero
}

type fieldList struct {
	fields []field
	ok     bool
}

var fieldCache sync.Map // reflect.Type -> fieldList

// structFields are the fields encoding/json writes of struct type t (its typeFields: Go's
// embedding rules, modified by JSON tags); false when one is ",string".
func structFields(t reflect.Type) ([]field, bool) {
	if f, ok := fieldCache.Load(t); ok {
		return f.(fieldList).fields, f.(fieldList).ok
	}
	fields, ok := typeFields(t)
	fieldCache.Store(t, fieldList{fields, ok})
	return fields, ok
}

// typeFields follows encoding/json's typeFields.
func typeFields(t reflect.Type) ([]field, bool) {
	type queued struct {
		typ   reflect.Type
		index []int
	}
	var current []queued
	next := []queued{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []field
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, f := range current {
			if visited[f.typ] {
				continue
			}
			visited[f.typ] = true
			for i := 0; i < f.typ.NumField(); i++ {
				sf := f.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validTag(name) {
					name = ""
				}
				index := append(slices.Clip(f.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if hasOpt(opts, "string") {
					return nil, false
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					fl := field{name: name, tag: tagged, index: index,
						omitEmpty: hasOpt(opts, "omitempty"), omitZero: hasOpt(opts, "omitzero")}
					if zt := sf.Type; fl.omitZero {
						fl.zeroer = zt.Implements(isZeroerType) || reflect.PointerTo(zt).Implements(isZeroerType)
					}
					fields = append(fields, fl)
					if count[f.typ] > 1 {
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, queued{typ: ft, index: index})
				}
			}
		}
	}
	slices.SortFunc(fields, func(a, b field) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tag != b.tag {
			if a.tag {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	out := fields[:0]
	for advance, i := 0, 0; i < len(fields); i += advance {
		for advance = 1; i+advance < len(fields) && fields[i+advance].name == fields[i].name; advance++ {
		}
		// The first is dominant unless the next is as deep and as tagged.
		if advance == 1 || len(fields[i].index) != len(fields[i+1].index) || fields[i].tag != fields[i+1].tag {
			out = append(out, fields[i])
		}
	}
	return out, true
}

func hasOpt(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

// validTag is encoding/json's isValidTag.
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
