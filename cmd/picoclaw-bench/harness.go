package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/provider/providertest"
)

// harness holds what every phase shares: the temporary directory, the
// fakes and the gateways measured against them.
type harness struct {
	dir  string
	dt   *dingtalktest.Server
	llm  *providertest.OpenAI
	opts options
	// env is what every gateway process gets on top of childEnv: over
	// TLS, SSL_CERT_FILE (the fake's CA) and, outside --netns, the
	// test-only dial override.
	env []string
	// ours is picoclaw; other, with --compare, the binary compared.
	ours, other *subject
}

// subject is one gateway binary with its own config, workspace and log.
type subject struct {
	name    string
	binary  string
	args    []string
	env     []string
	dir     string
	cfgPath string
	logPath string
	port    int // its /health port
	// sigtermExitOK accepts death by SIGTERM as a clean stop: picoclaw
	// must handle the signal, a compared gateway need not.
	sigtermExitOK bool
}

// newHarness creates the temporary directory, starts the fakes and writes
// the configs. Close undoes it all.
func newHarness(opts options) (*harness, error) {
	dir, err := os.MkdirTemp(opts.tmpDir, "picoclaw-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: temp dir: %w", err)
	}
	h := &harness{dir: dir, opts: opts}
	h.dt = dingtalktest.NewUnstartedServer()
	if opts.plain {
		h.dt.Start()
	} else if err := h.startTLS(); err != nil {
		h.Close()
		return nil, err
	}
	h.llm = providertest.NewOpenAI()
	// The fakes share the gateway's cores: the model keeps no record of
	// requests (the bench never reads it) and sends each answer in one
	// write rather than a flushed write per 8-rune chunk.
	h.llm.SetRecording(false)
	h.llm.SetFlushEachChunk(false)
	if h.ours, err = h.oursSubject(); err != nil {
		h.Close()
		return nil, err
	}
	if opts.compare != "" {
		if h.other, err = h.otherSubject(); err != nil {
			h.Close()
			return nil, err
		}
	}
	return h, nil
}

// subjects are the gateways of this run, picoclaw first.
func (h *harness) subjects() []*subject {
	if h.other != nil {
		return []*subject{h.ours, h.other}
	}
	return []*subject{h.ours}
}

// Close stops the fakes and removes the temporary directory unless --keep.
func (h *harness) Close() {
	if h.llm != nil {
		h.llm.Close()
	}
	if h.dt != nil {
		h.dt.Close()
	}
	if !h.opts.keep {
		_ = os.RemoveAll(h.dir)
	}
}

// build compiles the gateway as shipped (static without cgo, stripped,
// trimmed paths) unless --binary named one, and returns its size in bytes.
// Without cgo the process maps no libc or ld.so (about 1.2 MB less RSS).
func (h *harness) build(ctx context.Context) (int64, error) {
	if h.ours.binary == "" {
		h.ours.binary = filepath.Join(h.dir, "picoclaw.bin") // the directory "picoclaw" is its home
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", h.ours.binary, "picoclaw/cmd/picoclaw")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("bench: build gateway: %w\n%s", err, out)
		}
	}
	return binarySize(h.ours.binary)
}

func binarySize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("bench: gateway binary: %w", err)
	}
	return fi.Size(), nil
}

// newSubject makes the directory of a gateway and picks its health port.
func (h *harness) newSubject(name, binary string) (*subject, error) {
	dir := filepath.Join(h.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bench: gateway dir: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return &subject{name: name, binary: binary, dir: dir, port: port,
		cfgPath: filepath.Join(dir, "config.json"), logPath: filepath.Join(dir, "gateway.log")}, nil
}

// oursSubject writes a config pointing picoclaw at the fakes, with its
// workspace, its own data dir (a bench must never share, or lock,
// ~/.picoclaw/data) and a free health port. The gateway's own defaults apply to
// everything else, as for a user.
func (h *harness) oursSubject() (*subject, error) {
	s, err := h.newSubject("picoclaw", h.opts.binary)
	if err != nil {
		return nil, err
	}
	s.args = []string{"gateway", "--config", s.cfgPath, "--log-level", h.opts.logLevel}
	if h.opts.gwProfile != "" {
		// Each start rewrites it; the last process's profile is kept.
		s.args = append(s.args, "--cpuprofile", h.opts.gwProfile)
	}
	dt := map[string]any{
		"enabled": true, "client_id": h.dt.ClientID, "client_secret": h.dt.ClientSecret,
		"group_trigger": map[string]any{"mention_only": true},
	}
	if h.opts.plain {
		// Over TLS the gateway keeps its default, https://api.dingtalk.com.
		dt["api_base"] = h.dt.URL()
	}
	if h.opts.cards {
		h.dt.AddCardTemplate(benchCardTemplate)
		dt["card_template_id"] = benchCardTemplate
	}
	cfg := map[string]any{
		"version": 2,
		"agents": map[string]any{"defaults": map[string]any{
			"workspace": filepath.Join(s.dir, "workspace"), "data_dir": filepath.Join(s.dir, "data"),
			"model_name": "bench", "max_tokens": 8192,
		}},
		"model_list": []any{map[string]any{
			"model_name": "bench", "model": "openai/gpt-4o-mini", "api_base": h.llm.URL(), "api_keys": []string{benchModelKey},
		}},
		"channels": map[string]any{"dingtalk": dt},
		"gateway":  map[string]any{"host": "127.0.0.1", "port": s.port},
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("bench: encode config: %w", err)
	}
	if err := os.WriteFile(s.cfgPath, data, 0o600); err != nil {
		return nil, fmt.Errorf("bench: write config: %w", err)
	}
	return s, nil
}

// benchModelKey is the API key the gateways send the fake model.
const benchModelKey = "sk-bench-key"

// benchCardTemplate is the AI card template of --cards, known to the
// fake DingTalk.
const benchCardTemplate = "bench-ai-card.schema"

// childEnv is this process's environment without PICOCLAW_* variables,
// which would override the bench's config.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PICOCLAW_") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("bench: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
