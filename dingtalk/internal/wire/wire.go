package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
)

// AuthCodes are the error codes DingTalk uses for rejected credentials,
// on connections/open and on the OpenAPI alike.
var AuthCodes = map[string]bool{
	"authFailed":              true,
	"invalidClientIdOrSecret": true,
	"InvalidAuthentication":   true,
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// StripTags replaces every HTML tag in s by a space: front ends answer
// errors with HTML pages, whose markup says nothing useful in a log.
func StripTags(s string) string { return tagRE.ReplaceAllString(s, " ") }

// StripURL drops the URL that net/http puts in its errors: it may carry a
// session token.
func StripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// EncodeJSON encodes v without HTML escaping (markdown keeps < > & as is)
// and without the encoder's trailing newline.
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
