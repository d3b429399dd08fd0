package config

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// decoder copies a generic JSON tree (from a json.Decoder with UseNumber)
// into a struct by walking both together. Doing it by hand rather than with
// json.Unmarshal gives every type error its full path, array indexes
// included, and finds unknown keys at any depth.
type decoder struct {
	warnings []string
	errs     []error
}

func (d *decoder) typeErr(path, want string, raw any) {
	d.errs = append(d.errs, &FieldError{Path: displayPath(path), Msg: fmt.Sprintf("expected %s, got %s", want, jsonKind(raw))})
}

func (d *decoder) decode(path string, raw any, v reflect.Value) {
	if raw == nil {
		// JSON null: clear what can be absent, keep defaults for the rest.
		switch v.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
			v.SetZero()
		}
		return
	}
	if v.Type() == reflect.TypeFor[StringList]() {
		d.decodeStringList(path, raw, v)
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		v.Set(reflect.ValueOf(raw))
	case reflect.Pointer:
		// A fresh copy, so a default the pointer held is never mutated.
		p := reflect.New(v.Type().Elem())
		if !v.IsNil() {
			p.Elem().Set(v.Elem())
		}
		d.decode(path, raw, p.Elem())
		v.Set(p)
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			d.typeErr(path, "an object", raw)
			return
		}
		d.decodeStruct(path, obj, v)
	case reflect.Map:
		obj, ok := raw.(map[string]any)
		if !ok {
			d.typeErr(path, "an object", raw)
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(obj))
		for _, k := range sortedKeys(obj) {
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(join(path, k), obj[k], e)
			m.SetMapIndex(reflect.ValueOf(k), e)
		}
		v.Set(m)
	case reflect.Slice:
		arr, ok := raw.([]any)
		if !ok {
			d.typeErr(path, "a list", raw)
			return
		}
		s := reflect.MakeSlice(v.Type(), len(arr), len(arr))
		for i, item := range arr {
			d.decode(fmt.Sprintf("%s[%d]", path, i), item, s.Index(i))
		}
		v.Set(s)
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			d.typeErr(path, "a string", raw)
			return
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			d.typeErr(path, "a boolean", raw)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := raw.(json.Number)
		if !ok {
			d.typeErr(path, "an integer", raw)
			return
		}
		i, err := parseInt(string(n))
		if err == nil && v.OverflowInt(i) {
			err = errOutOfRange
		}
		if err != nil {
			d.errs = append(d.errs, &FieldError{Path: displayPath(path), Msg: "expected an integer, got " + err.Error()})
			return
		}
		v.SetInt(i)
	case reflect.Float32, reflect.Float64:
		n, ok := raw.(json.Number)
		if !ok {
			d.typeErr(path, "a number", raw)
			return
		}
		f, err := n.Float64()
		if err != nil || v.OverflowFloat(f) {
			d.errs = append(d.errs, &FieldError{Path: displayPath(path), Msg: "expected a number, got one out of range"})
			return
		}
		v.SetFloat(f)
	default:
		// A programming error in this package's types, not a user error.
		panic(fmt.Sprintf("config: decode: unsupported field kind %s at %s", v.Kind(), path))
	}
}

func (d *decoder) decodeStruct(path string, obj map[string]any, v reflect.Value) {
	for _, k := range sortedKeys(obj) {
		f, ok := fieldByJSONName(v, k)
		if !ok {
			switch warning, known := picoclawKey(join(path, k), obj[k]); {
			case strings.HasPrefix(k, "_"): // a comment
			case known && warning != "":
				d.warnings = append(d.warnings, warning)
			case !known:
				d.warnings = append(d.warnings, fmt.Sprintf("config: unknown key %q (ignored)", join(path, k)))
			}
			continue
		}
		d.decode(join(path, k), obj[k], f)
	}
}

// decodeStringList accepts strings and numbers, singly or in a list.
func (d *decoder) decodeStringList(path string, raw any, v reflect.Value) {
	const want = "a list of strings or numbers"
	item := func(p string, x any) (string, bool) {
		switch x := x.(type) {
		case string:
			return x, true
		case json.Number:
			return numberText(x), true
		}
		d.typeErr(p, "a string or number", x)
		return "", false
	}
	switch raw := raw.(type) {
	case []any:
		out := make(StringList, 0, len(raw))
		for i, x := range raw {
			if s, ok := item(fmt.Sprintf("%s[%d]", path, i), x); ok {
				out = append(out, s)
			}
		}
		v.Set(reflect.ValueOf(out))
	case string, json.Number:
		s, _ := item(path, raw)
		v.Set(reflect.ValueOf(StringList{s}))
	default:
		d.typeErr(path, want, raw)
	}
}

// numberText renders an id written as a JSON number: integers as written
// (no float rounding of long ids), integral exponents expanded.
func numberText(n json.Number) string {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		return s // an integer literal, however long
	}
	if f, err := n.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s
}

type rangeError string

func (e rangeError) Error() string { return string(e) }

const (
	errOutOfRange = rangeError("a number out of range")
	errFraction   = rangeError("a fractional number")
)

// parseInt accepts integer literals and integral floats such as 1e3.
func parseInt(s string) (int64, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.Abs(f) >= math.MaxInt64 {
		return 0, errOutOfRange
	}
	if f != math.Trunc(f) {
		return 0, errFraction
	}
	return int64(f), nil
}

// fieldByJSONName finds the exported field of struct v tagged with name.
func fieldByJSONName(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.IsExported() && name != "-" && jsonName(sf) == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func jsonName(sf reflect.StructField) string {
	name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
	return name
}

func jsonKind(raw any) string {
	switch raw.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", raw)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// displayPath names the root for messages about the whole document.
func displayPath(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
