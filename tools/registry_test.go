package tools

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"picoclaw"
)

// stubTool echoes its arguments, or panics.
type stubTool struct {
	name  string
	panic bool
	got   json.RawMessage
}

func (s *stubTool) Def() picoclaw.ToolDef {
	return def(s.name, "stub", `{"type":"object","properties":{"x":{"type":"string"}},"required":["x"]}`)
}

func (s *stubTool) Call(_ context.Context, args json.RawMessage) (string, error) {
	if s.panic {
		var m map[string]int
		m["boom"]++ // nil map write: a real runtime panic
	}
	s.got = args
	return "ok:" + string(args), nil
}

func newTestRegistry(t *testing.T, tools ...picoclaw.Tool) *Registry {
	t.Helper()
	r := NewRegistry(nil)
	for _, tool := range tools {
		if err := r.Register(tool); err != nil {
			t.Fatalf("Register(%s): %v", tool.Def().Name, err)
		}
	}
	return r
}

func TestRegistryRegisterDuplicate(t *testing.T) {
	first := &stubTool{name: "dup"}
	r := newTestRegistry(t, first)
	err := r.Register(&stubTool{name: "dup"})
	if err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("second Register: err = %v, want 'already registered'", err)
	}
	if got, _ := r.Get("dup"); got != first {
		t.Fatal("duplicate registration replaced the first tool")
	}
}

func TestRegistryRegisterInvalid(t *testing.T) {
	r := NewRegistry(nil)
	for _, tc := range []struct {
		name string
		tool picoclaw.Tool
	}{
		{"nil", nil},
		{"empty name", &stubTool{name: ""}},
		{"bad schema", &funcTool{def: def("bad", "", `{"type":`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := r.Register(tc.tool); err == nil {
				t.Fatal("Register succeeded, want error")
			}
		})
	}
}

func TestRegistryDefsSorted(t *testing.T) {
	r := newTestRegistry(t, &stubTool{name: "zeta"}, &stubTool{name: "alpha"}, &stubTool{name: "mid"})
	var names []string
	for _, d := range r.Defs() {
		names = append(names, d.Name)
	}
	if want := []string{"alpha", "mid", "zeta"}; !slices.Equal(names, want) {
		t.Fatalf("Defs names = %v, want %v", names, want)
	}
	if _, ok := r.Get("missing"); ok {
		t.Fatal("Get(missing) reported ok")
	}
}

func TestRegistryCall(t *testing.T) {
	r := newTestRegistry(t, &stubTool{name: "echo"}, &stubTool{name: "other"}, &stubTool{name: "bomb", panic: true})
	tests := []struct {
		name, tool string
		args       string
		want       string   // output, when no error
		errHas     []string // error substrings, when an error is expected
	}{
		{name: "ok", tool: "echo", args: `{"x":"1"}`, want: `ok:{"x":"1"}`},
		{name: "empty args mean {}", tool: "echo", args: ``, want: `ok:{}`},
		{name: "double-encoded object", tool: "echo", args: `"{\"x\":\"2\"}"`, want: `ok:{"x":"2"}`},
		{name: "unknown tool", tool: "nope", args: `{}`, errHas: []string{`unknown tool "nope"`, "bomb, echo, other"}},
		{name: "invalid JSON", tool: "echo", args: `{"x":`, errHas: []string{"not valid JSON", "expected a JSON object", `"required":["x"]`}},
		{name: "not an object", tool: "echo", args: `[1,2]`, errHas: []string{"must be a JSON object"}},
		{name: "panic recovered", tool: "bomb", args: `{}`, errHas: []string{"tool bomb failed", "panic"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Call(context.Background(), tc.tool, json.RawMessage(tc.args))
			if tc.errHas == nil {
				if err != nil || got != tc.want {
					t.Fatalf("Call = %q, %v; want %q, nil", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Call = %q, nil; want error", got)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestDecodeArgsTypeMismatch(t *testing.T) {
	var a fsArgs
	err := decodeArgs("read_file", json.RawMessage(`{"path": 5}`), &a, `{"path": "x"}`)
	if err == nil || !strings.Contains(err.Error(), `expected a JSON object like {"path": "x"}`) {
		t.Fatalf("err = %v, want one naming the expected shape", err)
	}
	var syntax *json.UnmarshalTypeError
	if !errors.As(err, &syntax) {
		t.Fatalf("err = %v, want it to wrap the json error", err)
	}
}

// TestToolDefs checks that every built-in tool's schema is a JSON object
// schema whose required fields are declared properties.
func TestToolDefs(t *testing.T) {
	ex, err := NewExecTool(ExecOptions{Workspace: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	web, err := NewWebTools(WebOptions{})
	if err != nil {
		t.Fatal(err)
	}
	all := append(NewFSTools(t.TempDir(), true), ex, NewMessageTool(nil, "dingtalk", picoclaw.SendScope{}))
	all = append(all, web...)
	r := newTestRegistry(t, all...)
	want := []string{"append_file", "edit_file", "exec", "list_dir", "message", "read_file", "web_fetch", "web_search", "write_file"}
	if got := r.Names(); !slices.Equal(got, want) {
		t.Fatalf("names = %v, want %v", got, want)
	}
	for _, d := range r.Defs() {
		t.Run(d.Name, func(t *testing.T) {
			var s struct {
				Type       string                     `json:"type"`
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			}
			if err := json.Unmarshal(d.Parameters, &s); err != nil {
				t.Fatalf("schema: %v", err)
			}
			if s.Type != "object" || len(s.Properties) == 0 || d.Description == "" {
				t.Fatalf("schema type %q with %d properties, description %q", s.Type, len(s.Properties), d.Description)
			}
			for _, req := range s.Required {
				if _, ok := s.Properties[req]; !ok {
					t.Errorf("required %q is not a property", req)
				}
			}
		})
	}
}

func TestRegistryDefsSortedAndCopied(t *testing.T) {
	r := NewRegistry(nil)
	for _, n := range []string{"write_file", "exec", "read_file"} {
		if err := r.Register(&stubTool{name: n}); err != nil {
			t.Fatal(err)
		}
	}
	defs := r.Defs()
	var names []string
	for _, d := range defs {
		names = append(names, d.Name)
	}
	if got, want := strings.Join(names, ","), "exec,read_file,write_file"; got != want {
		t.Fatalf("Defs names = %s, want %s", got, want)
	}
	defs[0].Name = "changed"
	if r.Defs()[0].Name != "exec" {
		t.Error("changing the returned slice changed the registry")
	}
}
