package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime"
)

// permWarning says how to fix a config file that group or others may read
// while it holds a secret (a client_secret, an API key, MCP env or
// headers), or "". Secrets set only by PICOCLAW_* variables are not in
// the file and do not count.
func permWarning(path string, data []byte) string {
	if runtime.GOOS == "windows" {
		return ""
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&0o077 == 0 || !holdsSecret(data) {
		return ""
	}
	return fmt.Sprintf("config: %s holds secrets and is readable by group or others (mode %04o); run: chmod 600 %s", path, st.Mode().Perm(), path)
}

// holdsSecret reports whether the config text sets any field tagged
// secret:"true" to a non-empty value.
func holdsSecret(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if dec.Decode(&raw) != nil {
		return false
	}
	var c Config
	entries, _ := (&decoder{}).decodeDocument(data, raw, &c)
	for _, e := range entries {
		if anySecret(reflect.ValueOf(e.entry), false) {
			return true
		}
	}
	return anySecret(reflect.ValueOf(c), false)
}

func anySecret(v reflect.Value, secret bool) bool {
	switch v.Kind() {
	case reflect.Pointer:
		return !v.IsNil() && anySecret(v.Elem(), secret)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			if sf.IsExported() && anySecret(v.Field(i), secret || sf.Tag.Get("secret") == "true") {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if anySecret(v.Index(i), secret) {
				return true
			}
		}
	case reflect.Map:
		return secret && v.Len() > 0
	case reflect.String:
		return secret && v.Len() > 0
	}
	return false
}
