package config

import (
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestToolsDefaults(t *testing.T) {
	cfg, warnings := mustParse(t, `{}`, nil)
	if len(warnings) != 0 {
		t.Errorf("warnings = %q", warnings)
	}
	tl := cfg.Tools
	if !tl.Exec.Enabled || tl.Exec.TimeoutSeconds != DefaultExecTimeoutSeconds {
		t.Errorf("exec = %+v, want enabled with %ds", tl.Exec, DefaultExecTimeoutSeconds)
	}
	if !tl.Web.Enabled || tl.Web.AllowPrivateFetch || tl.Web.Brave.Enabled {
		t.Errorf("web = %+v, want enabled, no private fetch, brave off", tl.Web)
	}
	if !tl.Web.DuckDuckGo.Enabled || tl.Web.DuckDuckGo.MaxResults != DefaultSearchMaxResults || tl.Web.Brave.MaxResults != DefaultSearchMaxResults {
		t.Errorf("search defaults = %+v", tl.Web)
	}
	if !tl.Cron.Enabled {
		t.Error("cron should default to enabled")
	}
	if tl.MCP.Enabled || cfg.ActiveMCPServers() != nil {
		t.Errorf("mcp = %+v, want off", tl.MCP)
	}
}

func TestToolsFromFile(t *testing.T) {
	src := `{"tools":{
	  "exec":{"enabled":false,"timeout_seconds":0,"custom_allow_patterns":["^git status$"]},
	  "web":{"enabled":true,"allow_private_fetch":true,"brave":{"enabled":true,"api_keys":[" ","bsa-2"],"max_results":8},"duckduckgo":{"enabled":false}},
	  "cron":{"enabled":false},
	  "mcp":{"enabled":true,"servers":{
	    "fs":{"enabled":true,"command":"mcp-fs","args":["/srv"],"env":{"A":"1"}},
	    "remote":{"enabled":true,"type":"streamable-http","url":"http://127.0.0.1:9/mcp","headers":{"Authorization":"Bearer x"}},
	    "off":{"command":"never"}}}}}`
	cfg, _ := mustParse(t, src, nil)
	tl := cfg.Tools
	if tl.Exec.Enabled || tl.Exec.TimeoutSeconds != DefaultExecTimeoutSeconds || !slices.Equal(tl.Exec.CustomAllowPatterns, []string{"^git status$"}) {
		t.Errorf("exec = %+v", tl.Exec)
	}
	if !tl.Web.AllowPrivateFetch || tl.Web.Brave.Key() != "bsa-2" || tl.Web.Brave.MaxResults != 8 || tl.Web.DuckDuckGo.Enabled {
		t.Errorf("web = %+v", tl.Web)
	}
	if tl.Cron.Enabled {
		t.Error("cron enabled false ignored")
	}
	active := cfg.ActiveMCPServers()
	if got := slices.Sorted(maps.Keys(active)); !slices.Equal(got, []string{"fs", "remote"}) {
		t.Fatalf("active servers = %q, want fs and remote", got)
	}
	if fs := active["fs"]; fs.Transport() != MCPStdio || fs.Env["A"] != "1" || !slices.Equal(fs.Args, []string{"/srv"}) {
		t.Errorf("fs = %+v", fs)
	}
	if r := active["remote"]; r.Transport() != MCPHTTP || r.Headers["Authorization"] != "Bearer x" {
		t.Errorf("remote = %+v", r)
	}
}

func TestToolsFromPicoClawConfig(t *testing.T) {
	cfg, warnings, err := Load(filepath.Join("testdata", "picoclaw-v0.2.6.json"), envFrom(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tl := cfg.Tools
	if tl.Exec.TimeoutSeconds != 90 || !slices.Equal(tl.Exec.CustomDenyPatterns, []string{`\bgit\s+push\b`}) {
		t.Errorf("exec = %+v", tl.Exec)
	}
	if tl.Web.Brave.Enabled || tl.Web.Brave.Key() != "YOUR_BRAVE_API_KEY" {
		t.Errorf("brave = %+v", tl.Web.Brave)
	}
	if got := slices.Sorted(maps.Keys(cfg.ActiveMCPServers())); !slices.Equal(got, []string{"filesystem"}) {
		t.Errorf("active servers = %q, want only filesystem", got)
	}
	for _, w := range warnings {
		if strings.Contains(w, "enable_deny_patterns") || strings.Contains(w, "private_host_whitelist") {
			t.Errorf("default PicoClaw values should load quietly, got %q", w)
		}
	}
}

func TestToolsValidation(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want string // the whole message of the one problem expected
	}{
		{"bad deny regex", `{"tools":{"exec":{"custom_deny_patterns":["ok","also ok","a("]}}}`, nil,
			"tools.exec.custom_deny_patterns[2]: invalid regular expression: error parsing regexp: missing closing ): `a(`"},
		{"bad allow regex", `{"tools":{"exec":{"custom_allow_patterns":["[z-a]"]}}}`, nil,
			"tools.exec.custom_allow_patterns[0]: invalid regular expression: error parsing regexp: invalid character class range: `z-a`"},
		{"negative timeout", `{"tools":{"exec":{"timeout_seconds":-1}}}`, nil,
			"tools.exec.timeout_seconds: must not be negative, got -1"},
		{"brave without key", `{"tools":{"web":{"brave":{"enabled":true}}}}`, nil,
			"tools.web.brave.api_key: required when tools.web.brave.enabled is true (or set PICOCLAW_TOOLS_WEB_BRAVE_API_KEY)"},
		{"brave key reference", `{"tools":{"web":{"brave":{"api_keys":["enc://abc"]}}}}`, nil,
			"tools.web.brave.api_keys: enc:// and file:// references are not supported by this build; write the key or set PICOCLAW_TOOLS_WEB_BRAVE_API_KEY"},
		{"negative max_results", `{"tools":{"web":{"duckduckgo":{"max_results":-2}}}}`, nil,
			"tools.web.duckduckgo.max_results: must not be negative, got -2"},
		{"mcp server without command or url", `{"tools":{"mcp":{"enabled":true,"servers":{"empty":{"enabled":true}}}}}`, nil,
			"tools.mcp.servers.empty: needs either command (a stdio server) or url (an HTTP server)"},
		{"mcp stdio without command", `{"tools":{"mcp":{"enabled":true,"servers":{"s":{"enabled":true,"type":"stdio","url":"http://127.0.0.1/x"}}}}}`, nil,
			"tools.mcp.servers.s.command: required for a stdio server (or set url for an HTTP server)"},
		{"mcp http without url", `{"tools":{"mcp":{"enabled":true,"servers":{"h":{"enabled":true,"type":"http","command":"x"}}}}}`, nil,
			`tools.mcp.servers.h.url: required for type "http"`},
		{"mcp unknown type", `{"tools":{"mcp":{"enabled":true,"servers":{"w":{"enabled":true,"type":"websocket","url":"ws://x"}}}}}`, nil,
			`tools.mcp.servers.w.type: unknown transport "websocket" (known: stdio, http, sse)`},
		{"mcp bad url hides it", `{"tools":{"mcp":{"enabled":true,"servers":{"u":{"enabled":true,"url":"ftp://host/?token=hunter2"}}}}}`, nil,
			"tools.mcp.servers.u.url: must be an http:// or https:// URL with a host"},
		{"summarize percent", `{"agents":{"defaults":{"summarize_token_percent":120}}}`, nil,
			"agents.defaults.summarize_token_percent: must be between 0 and 100, got 120"},
		{"negative context window", `{"agents":{"defaults":{"context_window":-1}}}`, nil,
			"agents.defaults.context_window: must not be negative, got -1"},
		{"env timeout not a number", `{}`, map[string]string{"PICOCLAW_TOOLS_EXEC_TIMEOUT_SECONDS": "soon"},
			`PICOCLAW_TOOLS_EXEC_TIMEOUT_SECONDS: expected an integer, got "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.src), envFrom(tt.env))
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) != 1 {
				t.Fatalf("err = %v, want one problem", err)
			}
			if got := ce.Problems[0].Error(); got != tt.want {
				t.Errorf("problem =\n%s\nwant\n%s", got, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks a URL token: %v", err)
			}
		})
	}
}

func TestToolsWarnings(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"disabled server problems are warnings", `{"tools":{"mcp":{"enabled":true,"servers":{"draft":{"enabled":false}}}}}`,
			"config: tools.mcp.servers.draft: needs either command (a stdio server) or url (an HTTP server) (server disabled, ignored)"},
		{"mcp off makes server problems warnings", `{"tools":{"mcp":{"servers":{"draft":{"enabled":true,"type":"bogus"}}}}}`,
			`config: tools.mcp.servers.draft.type: unknown transport "bogus" (known: stdio, http, sse) (server disabled, ignored)`},
		{"unknown server key", `{"tools":{"mcp":{"servers":{"s":{"command":"x","deferred":true}}}}}`,
			`config: unknown key "tools.mcp.servers.s.deferred" (ignored)`},
		{"deny patterns cannot be disabled", `{"tools":{"exec":{"enable_deny_patterns":false}}}`,
			"config: tools.exec.enable_deny_patterns false is not supported by this build (ignored): the built-in deny rules always apply; use tools.exec.custom_allow_patterns to exempt commands"},
		{"private host list", `{"tools":{"web":{"private_host_whitelist":["10.0.0.2"]}}}`,
			"config: tools.web.private_host_whitelist is not supported by this build (ignored); set tools.web.allow_private_fetch to let web_fetch reach private addresses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warnings := mustParse(t, tt.src, nil)
			if !slices.Equal(warnings, []string{tt.want}) {
				t.Errorf("warnings =\n%q\nwant\n%q", warnings, []string{tt.want})
			}
		})
	}
}

func TestToolsEnvOverrides(t *testing.T) {
	src := `{"tools":{"exec":{"timeout_seconds":30},"web":{"brave":{"enabled":true,"api_key":"file-key"}}}}`
	cfg, _ := mustParse(t, src, map[string]string{
		"PICOCLAW_TOOLS_EXEC_TIMEOUT_SECONDS":      "120",
		"PICOCLAW_TOOLS_EXEC_CUSTOM_DENY_PATTERNS": `rm\s, curl`,
		"PICOCLAW_TOOLS_WEB_BRAVE_API_KEY":         "env-key",
		"PICOCLAW_TOOLS_MCP_ENABLED":               "true",
		"PICOCLAW_TOOLS_CRON_ENABLED":              "false",
	})
	tl := cfg.Tools
	if tl.Exec.TimeoutSeconds != 120 || !slices.Equal(tl.Exec.CustomDenyPatterns, []string{`rm\s`, "curl"}) {
		t.Errorf("exec = %+v", tl.Exec)
	}
	if tl.Web.Brave.Key() != "env-key" || !tl.MCP.Enabled || tl.Cron.Enabled {
		t.Errorf("tools = %+v", tl)
	}
	names := EnvNames()
	for _, n := range names {
		if strings.Contains(n, "MCP_SERVERS") {
			t.Errorf("EnvNames has %s: maps have no variables", n)
		}
	}
	if !slices.Contains(names, "PICOCLAW_TOOLS_WEB_DUCKDUCKGO_MAX_RESULTS") {
		t.Error("EnvNames lacks PICOCLAW_TOOLS_WEB_DUCKDUCKGO_MAX_RESULTS")
	}
}

func TestMCPTransport(t *testing.T) {
	tests := []struct {
		s    MCPServerConfig
		want string
	}{
		{MCPServerConfig{Command: "x"}, MCPStdio},
		{MCPServerConfig{URL: "http://h"}, MCPHTTP},
		{MCPServerConfig{Type: "STDIO", URL: "http://h"}, MCPStdio},
		{MCPServerConfig{Type: "sse", Command: "x"}, MCPHTTP},
		{MCPServerConfig{Type: "streamable-http"}, MCPHTTP},
		{MCPServerConfig{Type: "grpc"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.s.Type+"/"+tt.s.Command, func(t *testing.T) {
			if got := tt.s.Transport(); got != tt.want {
				t.Errorf("Transport() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestToolsSandboxAndAllowTo(t *testing.T) {
	cfg, _ := mustParse(t, `{"tools":{"exec":{"sandbox":"off","network":true},"message":{"allow_to":["dingtalk:group:cidAB==", 1234, "*"]}}}`, nil)
	if !cfg.Tools.Exec.SandboxOff() || !cfg.Tools.Exec.Network {
		t.Errorf("exec = %+v, want sandbox off and network on", cfg.Tools.Exec)
	}
	if want := (StringList{"dingtalk:group:cidAB==", "1234", "*"}); !slices.Equal(cfg.Tools.Message.AllowTo, want) {
		t.Errorf("allow_to = %q, want %q", cfg.Tools.Message.AllowTo, want)
	}
	def, _ := mustParse(t, `{}`, nil)
	if def.Tools.Exec.SandboxOff() || def.Tools.Exec.Network || len(def.Tools.Message.AllowTo) != 0 {
		t.Errorf("defaults = %+v %+v, want sandbox on, no network, no allow_to", def.Tools.Exec, def.Tools.Message)
	}
	for _, tc := range []struct{ src, path string }{
		{`{"tools":{"exec":{"sandbox":"maybe"}}}`, "tools.exec.sandbox"},
		{`{"tools":{"message":{"allow_to":["dingtalk:group:cid", ""]}}}`, "tools.message.allow_to[1]"},
		{`{"tools":{"message":{"allow_to":["dingtalk:friends:x"]}}}`, "tools.message.allow_to[0]"},
		{`{"tools":{"message":{"allow_to":["ding*"]}}}`, "tools.message.allow_to[0]"},
	} {
		_, _, err := Parse([]byte(tc.src), envFrom(nil))
		var fe *FieldError
		if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.path+":") {
			t.Errorf("Parse(%s) = %v, want an error naming %s", tc.src, err, tc.path)
		}
	}
}
