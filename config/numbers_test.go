package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parseProblem parses src with env and returns the one problem reported
// for path, failing when there is none.
func parseProblem(t *testing.T, src string, env map[string]string, path string) string {
	t.Helper()
	_, _, err := Parse([]byte(src), envFrom(env))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Parse = %v, want a config error for %s", err, path)
	}
	var found []string
	for _, p := range ce.Problems {
		if fe, ok := p.(*FieldError); ok && fe.Path == path {
			found = append(found, fe.Msg)
		}
	}
	if len(found) != 1 {
		t.Fatalf("problems for %s: %q, want exactly one; all: %v", path, found, err)
	}
	return found[0]
}

func TestNumbersValidatedFromFileAndEnv(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		env       map[string]string
		path      string
		want      string // part of the message
	}{
		{"temperature NaN from env", `{}`, map[string]string{"PICOCLAW_AGENTS_DEFAULTS_TEMPERATURE": "NaN"},
			"agents.defaults.temperature", "between 0 and 2, got NaN (set by PICOCLAW_AGENTS_DEFAULTS_TEMPERATURE)"},
		{"temperature Inf from env", `{}`, map[string]string{"PICOCLAW_AGENTS_DEFAULTS_TEMPERATURE": "+Inf"},
			"agents.defaults.temperature", "between 0 and 2"},
		{"temperature above 2 in file", `{"agents":{"defaults":{"temperature":2.5}}}`, nil,
			"agents.defaults.temperature", "between 0 and 2, got 2.5"},
		{"max_tokens negative from env", `{}`, map[string]string{"PICOCLAW_AGENTS_DEFAULTS_MAX_TOKENS": "-5"},
			"agents.defaults.max_tokens", "must not be negative"},
		{"routing threshold NaN from env", `{}`, map[string]string{"PICOCLAW_AGENTS_DEFAULTS_ROUTING_THRESHOLD": "nan"},
			"agents.defaults.routing.threshold", "must be a finite number"},
		{"routing threshold negative in file", `{"agents":{"defaults":{"routing":{"threshold":-0.5}}}}`, nil,
			"agents.defaults.routing.threshold", "must not be negative"},
		{"subturn timeout too long", `{"agents":{"defaults":{"subturn":{"default_timeout_minutes":100000}}}}`, nil,
			"agents.defaults.subturn.default_timeout_minutes", "at most 1440 minutes"},
		{"subturn concurrency negative from env", `{}`, map[string]string{"PICOCLAW_AGENTS_DEFAULTS_SUBTURN_CONCURRENCY_TIMEOUT_SEC": "-1"},
			"agents.defaults.subturn.concurrency_timeout_sec", "must not be negative"},
		{"request_timeout overflowing a Duration", `{"model_list":[{"model_name":"m","model":"openai/x","request_timeout":9999999999999}]}`, nil,
			"model_list[0].request_timeout", "at most 86400 seconds"},
		{"exec timeout too long from env", `{}`, map[string]string{"PICOCLAW_TOOLS_EXEC_TIMEOUT_SECONDS": "90000"},
			"tools.exec.timeout_seconds", "at most 86400 seconds"},
		{"chat window negative", `{"channels":{"dingtalk":{"chat_window_seconds":-3}}}`, nil,
			"channels.dingtalk.chat_window_seconds", "must not be negative"},
		{"port zero from env is the default, 70000 is not", `{}`, map[string]string{"PICOCLAW_GATEWAY_PORT": "70000"},
			"gateway.port", "between 1 and 65535"},
		{"port negative in file", `{"gateway":{"port":-1}}`, nil, "gateway.port", "between 1 and 65535"},
		{"tool feedback length negative", `{"agents":{"defaults":{"tool_feedback":{"max_args_length":-1}}}}`, nil,
			"agents.defaults.tool_feedback.max_args_length", "must not be negative"},
		{"percent above 100", `{"agents":{"defaults":{"summarize_token_percent":101}}}`, nil,
			"agents.defaults.summarize_token_percent", "between 0 and 100"},
		{"media size negative", `{"agents":{"defaults":{"max_media_size":-1}}}`, nil,
			"agents.defaults.max_media_size", "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseProblem(t, tc.src, tc.env, tc.path); !strings.Contains(got, tc.want) {
				t.Errorf("%s: %q, want it to say %q", tc.path, got, tc.want)
			}
		})
	}
}

func TestNumbersInRangeAccepted(t *testing.T) {
	cfg, _ := mustParse(t, `{"agents":{"defaults":{"temperature":0,"routing":{"threshold":0.4},"subturn":{"default_timeout_minutes":1440}}},
		"model_list":[{"model_name":"m","model":"openai/x","request_timeout":86400}]}`,
		map[string]string{"PICOCLAW_AGENTS_DEFAULTS_TEMPERATURE": "2"})
	if *cfg.Agents.Defaults.Temperature != 2 {
		t.Errorf("temperature = %v", *cfg.Agents.Defaults.Temperature)
	}
}

func TestDataDir(t *testing.T) {
	cfg, _ := mustParse(t, `{}`, nil)
	if got, want := cfg.Agents.Defaults.DataDir, "/home/tester/.picoclaw/data"; got != want {
		t.Errorf("default data_dir = %q, want %q", got, want)
	}
	cfg, _ = mustParse(t, `{"agents":{"defaults":{"data_dir":"~/pc-data"}}}`, nil)
	if got, want := cfg.Agents.Defaults.DataDir, "/home/tester/pc-data"; got != want {
		t.Errorf("data_dir = %q, want %q", got, want)
	}
	cfg, _ = mustParse(t, `{}`, map[string]string{"PICOCLAW_AGENTS_DEFAULTS_DATA_DIR": "/srv/pc/data"})
	if got, want := cfg.Agents.Defaults.DataDir, "/srv/pc/data"; got != want {
		t.Errorf("data_dir from env = %q, want %q", got, want)
	}
	for _, tc := range []struct{ name, src, want string }{
		{"inside the workspace", `{"agents":{"defaults":{"workspace":"/w","data_dir":"/w/data"}}}`, "is inside the workspace /w"},
		{"the workspace itself", `{"agents":{"defaults":{"workspace":"/w","data_dir":"/w/"}}}`, "is also the workspace"},
		{"containing the workspace", `{"agents":{"defaults":{"workspace":"/d/ws","data_dir":"/d"}}}`, "contains the workspace /d/ws"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseProblem(t, tc.src, nil, "agents.defaults.data_dir"); !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want it to say %q", got, tc.want)
			}
		})
	}
	// Siblings sharing a name prefix do not overlap.
	mustParse(t, `{"agents":{"defaults":{"workspace":"/srv/pc","data_dir":"/srv/pc-data"}}}`, nil)
}

func TestLoadWarnsAboutReadableSecrets(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		mode os.FileMode
		warn bool
	}{
		{"secret, 0644", `{"channels":{"dingtalk":{"client_secret":"s3cr3t-value"}}}`, 0o644, true},
		{"api key, 0640", `{"model_list":[{"model_name":"m","model":"openai/x","api_keys":["sk-1"]}]}`, 0o640, true},
		{"secret, 0600", `{"channels":{"dingtalk":{"client_secret":"s3cr3t-value"}}}`, 0o600, false},
		{"no secret, 0644", `{"gateway":{"port":1234}}`, 0o644, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(path, []byte(tc.src), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, warnings, err := Load(path, envFrom(nil))
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(warnings, "\n")
			if got := strings.Contains(all, "chmod 600 "+path); got != tc.warn {
				t.Errorf("warned = %v, want %v; warnings: %s", got, tc.warn, all)
			}
			if strings.Contains(all, "s3cr3t-value") || strings.Contains(all, "sk-1") {
				t.Errorf("a warning holds the secret: %s", all)
			}
		})
	}
}
