package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"picoclaw"
)

// Registry holds the tools offered to the model and runs their calls. It
// is safe for concurrent use: turns of different chats call it at once.
type Registry struct {
	logger *slog.Logger

	mu    sync.RWMutex
	tools map[string]picoclaw.Tool
	// defs are the tools' definitions sorted by name, read once at
	// registration: the agent asks for them every turn, and some tools
	// build theirs (compacting a schema) on each Def call.
	defs []picoclaw.ToolDef
}

// NewRegistry returns an empty registry. A nil logger discards.
func NewRegistry(logger *slog.Logger) *Registry {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Registry{logger: logger, tools: make(map[string]picoclaw.Tool)}
}

// Register adds t. A second tool with the same name is refused, never
// silently put in the first one's place.
func (r *Registry) Register(t picoclaw.Tool) error {
	if t == nil {
		return errors.New("tools: register: nil tool")
	}
	d := t.Def()
	if d.Name == "" {
		return errors.New("tools: register: tool has an empty name")
	}
	if len(d.Parameters) > 0 && !json.Valid(d.Parameters) {
		return fmt.Errorf("tools: register %s: parameters schema is not valid JSON", d.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.tools[d.Name]; dup {
		return fmt.Errorf("tools: register %s: a tool with this name is already registered", d.Name)
	}
	r.tools[d.Name] = t
	i, _ := slices.BinarySearchFunc(r.defs, d.Name, func(e picoclaw.ToolDef, name string) int { return strings.Compare(e.Name, name) })
	r.defs = slices.Insert(r.defs, i, d)
	return nil
}

// Get returns the tool called name.
func (r *Registry) Get(name string) (picoclaw.Tool, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.tools[name]
	return t, ok
}

// Names returns the registered tool names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.tools))
	for n := range r.tools {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Defs returns the definitions of every tool, sorted by name so that the
// prompt sent to the model is stable (and cacheable) across turns. A
// tool's definition is the one it gave when it was registered.
func (r *Registry) Defs() []picoclaw.ToolDef {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.defs)
}

// Call runs the tool called name with args. Every failure, a panic
// included, comes back as an error whose text tells the model what went
// wrong and what was expected.
func (r *Registry) Call(ctx context.Context, name string, args json.RawMessage) (out string, err error) {
	t, ok := r.Get(name)
	if !ok {
		return "", fmt.Errorf("unknown tool %q; available tools: %s", name, strings.Join(r.Names(), ", "))
	}
	obj, err := normalizeArgs(args)
	if err != nil {
		return "", fmt.Errorf("tool %s: %w; expected a JSON object matching the schema %s",
			name, err, compactSchema(t.Def().Parameters))
	}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			r.logger.Error("tool panicked", "tool", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			out, err = "", fmt.Errorf("tool %s failed: internal error (panic: %v)", name, p)
		}
		if err != nil {
			r.logger.Info("tool call failed", "tool", name, "duration", time.Since(start), "err", err)
		} else {
			r.logger.Debug("tool call", "tool", name, "duration", time.Since(start), "output_bytes", len(out))
		}
	}()
	return t.Call(ctx, obj)
}

func compactSchema(schema json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, schema); err != nil {
		return string(schema)
	}
	return b.String()
}
