package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// envPrefix starts every override variable: PICOCLAW_ + the json path,
// upper-cased, dots as underscores.
const envPrefix = "PICOCLAW_"

// EnvName returns the override variable for a json path such as
// "channels.dingtalk.client_id" or "channel_list.work.settings.client_id".
// Characters a shell variable name cannot hold (a channel name's "-")
// become "_".
func EnvName(path string) string {
	return envPrefix + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, path)
}

// applyEnv overrides every leaf field of v whose variable is set and
// non-empty. Lists of structs (model_list) and maps have no variables.
func applyEnv(path string, v reflect.Value, getenv func(string) string, errs *[]error) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name := jsonName(sf)
		if !sf.IsExported() || name == "" || name == "-" || sf.Tag.Get("env") == "-" {
			continue
		}
		p := join(path, name)
		f := v.Field(i)
		if sf.Type.Kind() == reflect.Struct {
			applyEnv(p, f, getenv, errs)
			continue
		}
		if !envSettable(sf.Type) {
			continue
		}
		key := EnvName(p)
		val := getenv(key)
		if val == "" {
			continue
		}
		if err := setFromEnv(f, val); err != nil {
			msg := "expected " + err.Error()
			if sf.Tag.Get("secret") != "true" {
				msg += fmt.Sprintf(", got %q", val)
			}
			*errs = append(*errs, &FieldError{Path: key, Msg: msg})
		}
	}
}

func envSettable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		return true
	case reflect.Pointer:
		return envSettable(t.Elem())
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	}
	return false
}

// kindError names the expected form of a variable; it never holds the value.
type kindError string

func (e kindError) Error() string { return string(e) }

func setFromEnv(v reflect.Value, val string) error {
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := setFromEnv(p.Elem(), val); err != nil {
			return err
		}
		v.Set(p)
	case reflect.String:
		v.SetString(val)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(val))
		if err != nil {
			return kindError("a boolean (true or false)")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil || v.OverflowInt(i) {
			return kindError("an integer")
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return kindError("a number")
		}
		v.SetFloat(f)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 0, 0)
		for _, item := range splitList(val) {
			s = reflect.Append(s, reflect.ValueOf(item).Convert(v.Type().Elem()))
		}
		v.Set(s)
	default:
		return kindError("a supported type")
	}
	return nil
}

// splitList splits on ASCII and full-width commas (PicoClaw accepts both,
// Chinese input methods produce the latter), trimming blanks.
func splitList(val string) []string {
	parts := strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == '，' })
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// EnvNames lists every PICOCLAW_* override variable, in struct order.
func EnvNames() []string {
	var names []string
	var walk func(path string, t reflect.Type)
	walk = func(path string, t reflect.Type) {
		for i := range t.NumField() {
			sf := t.Field(i)
			name := jsonName(sf)
			if !sf.IsExported() || name == "" || name == "-" || sf.Tag.Get("env") == "-" {
				continue
			}
			switch p := join(path, name); {
			case sf.Type.Kind() == reflect.Struct:
				walk(p, sf.Type)
			case envSettable(sf.Type):
				names = append(names, EnvName(p))
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return names
}
