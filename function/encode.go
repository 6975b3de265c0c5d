package function

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/types/known/structpb"
)

// encodeStruct writes a typed Kubernetes object straight into a protobuf
// Struct, following the rules of encoding/json that the API server's JSON
// follows (json tags, omitempty, inline, []byte as base64, and the types'
// own MarshalJSON such as Quantity's), and leaving out nulls.
//
// Crossplane calls the function on every reconcile of every workspace, and a
// workspace is some thirty objects: going through map[string]any first
// (runtime.DefaultUnstructuredConverter, then structpb.NewStruct) spent most
// of a call converting. TestEncodeMatchesUnstructured checks both ways agree.
func encodeStruct(obj any) (*structpb.Struct, error) {
	v, err := encodeValue(reflect.ValueOf(obj))
	if err != nil {
		return nil, err
	}
	s := v.GetStructValue()
	if s == nil {
		return nil, fmt.Errorf("%T does not encode to a JSON object", obj)
	}
	return s, nil
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

// encodeValue returns nil for a JSON null.
func encodeValue(v reflect.Value) (*structpb.Value, error) {
	if !v.IsValid() {
		return nil, nil
	}
	switch marshalerOf(v.Type()) {
	case byValue:
		if v.Kind() != reflect.Pointer || !v.IsNil() {
			return encodeMarshaler(v.Interface().(json.Marshaler))
		}
	case byPointer:
		if v.CanAddr() {
			return encodeMarshaler(v.Addr().Interface().(json.Marshaler))
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return encodeValue(v.Elem())
	case reflect.Struct:
		fields := make(map[string]*structpb.Value, v.NumField())
		if err := encodeFields(v, fields); err != nil {
			return nil, err
		}
		return structpb.NewStructValue(&structpb.Struct{Fields: fields}), nil
	case reflect.Map:
		if v.IsNil() {
			return nil, nil
		}
		fields := make(map[string]*structpb.Value, v.Len())
		it := v.MapRange()
		for it.Next() {
			e, err := encodeValue(it.Value())
			if err != nil {
				return nil, err
			}
			if e != nil {
				fields[it.Key().String()] = e
			}
		}
		return structpb.NewStructValue(&structpb.Struct{Fields: fields}), nil
	case reflect.Slice:
		if v.IsNil() {
			return nil, nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return structpb.NewStringValue(base64.StdEncoding.EncodeToString(v.Bytes())), nil
		}
		fallthrough
	case reflect.Array:
		list := make([]*structpb.Value, 0, v.Len())
		for i := range v.Len() {
			e, err := encodeValue(v.Index(i))
			if err != nil {
				return nil, err
			}
			if e == nil {
				e = structpb.NewNullValue()
			}
			list = append(list, e)
		}
		return structpb.NewListValue(&structpb.ListValue{Values: list}), nil
	case reflect.String:
		return structpb.NewStringValue(v.String()), nil
	case reflect.Bool:
		return structpb.NewBoolValue(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return structpb.NewNumberValue(float64(v.Int())), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return structpb.NewNumberValue(float64(v.Uint())), nil
	case reflect.Float32, reflect.Float64:
		return structpb.NewNumberValue(v.Float()), nil
	default:
		return nil, fmt.Errorf("cannot encode a %s", v.Type())
	}
}

func encodeFields(v reflect.Value, into map[string]*structpb.Value) error {
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		if f.inline {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv = fv.Elem()
			}
			if err := encodeFields(fv, into); err != nil {
				return err
			}
			continue
		}
		if f.omitEmpty && isEmpty(fv) {
			continue
		}
		e, err := encodeValue(fv)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if e != nil {
			into[f.name] = e
		}
	}
	return nil
}

// encodeMarshaler covers the few types with their own JSON (Quantity,
// IntOrString, Time, Duration): all encode to a scalar or null.
func encodeMarshaler(m json.Marshaler) (*structpb.Value, error) {
	b, err := m.MarshalJSON()
	if err != nil {
		return nil, err
	}
	s := string(b)
	switch {
	case s == "null":
		return nil, nil
	case strings.HasPrefix(s, `"`):
		u, err := strconv.Unquote(s)
		if err != nil {
			// JSON escapes are not all Go escapes; take the slow road.
			if err := json.Unmarshal(b, &u); err != nil {
				return nil, err
			}
		}
		return structpb.NewStringValue(u), nil
	case s == "true" || s == "false":
		return structpb.NewBoolValue(s == "true"), nil
	default:
		var x any
		if err := json.Unmarshal(b, &x); err != nil {
			return nil, err
		}
		return structpb.NewValue(x)
	}
}

// isEmpty is encoding/json's notion of empty for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// How a type marshals itself, if it does. Asking reflect on every value is
// a fifth of the encoding's time; the answer per type never changes.
type marshaler int

const (
	byReflection marshaler = iota
	byValue                // the type has MarshalJSON
	byPointer              // *T has MarshalJSON, T does not
)

var marshalerCache sync.Map // reflect.Type -> marshaler

func marshalerOf(t reflect.Type) marshaler {
	if m, ok := marshalerCache.Load(t); ok {
		return m.(marshaler)
	}
	m := byReflection
	switch {
	case t.Implements(marshalerType):
		m = byValue
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(marshalerType):
		m = byPointer
	}
	marshalerCache.Store(t, m)
	return m
}

type fieldInfo struct {
	name      string
	index     int
	omitEmpty bool
	inline    bool
}

var fieldCache sync.Map // reflect.Type -> []fieldInfo

// fieldsOf reads a struct type's json tags once.
func fieldsOf(t reflect.Type) []fieldInfo {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]fieldInfo)
	}
	fields := make([]fieldInfo, 0, t.NumField())
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" || (!sf.IsExported() && !sf.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fi := fieldInfo{name: name, index: i}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "omitempty":
				fi.omitEmpty = true
			case "inline":
				fi.inline = true
			}
		}
		// An embedded struct without a name in its tag is inlined, as
		// encoding/json does (TypeMeta, ObjectMeta carry a name).
		if sf.Anonymous && name == "" {
			fi.inline = true
		}
		if fi.name == "" {
			fi.name = sf.Name
		}
		fields = append(fields, fi)
	}
	fieldCache.Store(t, fields)
	return fields
}
