package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// jsonObject is a JSON object that keeps its keys in file order, so a
// command that changes two values of the user's config writes every other
// key back where it was (encoding/json's maps would sort them).
type jsonObject struct {
	keys []string
	vals map[string]any // values: *jsonObject, []any, string, json.Number, bool, nil
}

func newJSONObject() *jsonObject { return &jsonObject{vals: map[string]any{}} }

// get returns the value of key (nil, false when absent).
func (o *jsonObject) get(key string) (any, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// set replaces key's value in place, or appends the key.
func (o *jsonObject) set(key string, v any) {
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

// object returns key's value as an object, creating (or, when it is
// not an object, replacing) it.
func (o *jsonObject) object(key string) *jsonObject {
	if v, ok := o.vals[key].(*jsonObject); ok {
		return v
	}
	v := newJSONObject()
	o.set(key, v)
	return v
}

// MarshalJSON writes the keys in order.
func (o *jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := encodeNoEscape(k)
		if err != nil {
			return nil, err
		}
		vb, err := encodeNoEscape(o.vals[k])
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// parseJSONObject reads a document whose top level is an object, keeping
// numbers as written.
func parseJSONObject(data []byte) (*jsonObject, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("unexpected data after the top-level object")
	}
	o, ok := v.(*jsonObject)
	if !ok {
		return nil, errors.New("the top level is not an object")
	}
	return o, nil
}

func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := newJSONObject()
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string) // the decoder only yields string keys here
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			o.set(k, v) // a repeated key keeps its first place and last value, as encoding/json reads it
		}
		_, err := dec.Token() // '}'
		return o, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token() // ']'
		return arr, err
	}
	return tok, nil
}

// marshalConfig renders o as an indented config file.
func marshalConfig(o *jsonObject) ([]byte, error) {
	raw, err := encodeNoEscape(o)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// encodeNoEscape is json.Marshal without the HTML escaping of <, > and &,
// so values such as a "<ai>" prefix are written back as the user wrote them.
func encodeNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
