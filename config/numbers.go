package config

import (
	"fmt"
	"math"
	"reflect"
	"strings"
)

// Upper bounds of durations given as plain numbers: beyond a day a
// timeout is a typo, and far beyond it multiplying into a time.Duration
// overflows into a negative one.
const (
	maxSeconds = 24 * 60 * 60
	maxMinutes = 24 * 60
)

// checkNumbers walks every number of the config, fields added later
// included: no number may be negative, no float NaN or infinite, and a
// field whose name says it is a duration (…timeout, …_seconds, …_sec,
// …_minutes, …_ms) must fit in a day. Paths that already have an error
// from a more specific check are skipped, so each field is reported once.
func checkNumbers(c *Config, errs []error) []error {
	reported := map[string]bool{}
	for _, e := range errs {
		if fe, ok := e.(*FieldError); ok {
			reported[fe.Path] = true
		}
	}
	var out []error
	check := func(path string, v reflect.Value) {
		if reported[path] {
			return
		}
		if msg := checkNumber(path, v); msg != "" {
			out = append(out, &FieldError{Path: path, Msg: msg})
		}
	}
	walkNumbers("", reflect.ValueOf(c).Elem(), check)
	// channel_list bots are not in the walked tree; the v0.2.6 one is.
	for _, b := range c.DingTalkBots {
		if b.Section == "channels.dingtalk" {
			continue
		}
		walkNumbers("", reflect.ValueOf(b.DingTalkConfig), func(path string, v reflect.Value) {
			check(b.Path(path), v)
		})
	}
	return append(errs, out...)
}

func checkNumber(path string, v reflect.Value) string {
	var f float64
	var shown string
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f, shown = float64(v.Int()), fmt.Sprint(v.Int())
	case reflect.Float32, reflect.Float64:
		f, shown = v.Float(), fmt.Sprint(v.Float())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "must be a finite number, got " + shown
		}
	default:
		return ""
	}
	if f < 0 {
		return "must not be negative, got " + shown
	}
	name := path[strings.LastIndex(path, ".")+1:]
	limit, unit := 0.0, ""
	switch {
	case strings.HasSuffix(name, "_minutes"):
		limit, unit = maxMinutes, "minutes"
	case strings.HasSuffix(name, "_ms"):
		limit, unit = maxSeconds*1000, "milliseconds"
	case strings.HasSuffix(name, "timeout"), strings.HasSuffix(name, "_seconds"), strings.HasSuffix(name, "_sec"):
		limit, unit = maxSeconds, "seconds"
	}
	if limit > 0 && f > limit {
		return fmt.Sprintf("must be at most %g %s (one day), got %s", limit, unit, shown)
	}
	return ""
}

// walkNumbers calls fn for every int and float field below v, with its
// json path; lists of structs are walked with their index, maps and
// free-form values are not (they are passed through as written).
func walkNumbers(path string, v reflect.Value, fn func(string, reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkNumbers(path, v.Elem(), fn)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			name := jsonName(sf)
			if !sf.IsExported() || name == "" || name == "-" {
				continue
			}
			walkNumbers(join(path, name), v.Field(i), fn)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkNumbers(fmt.Sprintf("%s[%d]", path, i), v.Index(i), fn)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
		fn(path, v)
	}
}
