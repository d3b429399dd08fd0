package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"picoclaw"
)

// Defaults of the tools section, as in PicoClaw v0.2.6.
const (
	DefaultExecTimeoutSeconds = 60
	DefaultSearchMaxResults   = 5
)

// Tools is the subset of PicoClaw's tools.* this build acts on. PicoClaw's
// other tool settings (skills, media_cleanup, per-tool switches, …) are
// reported as unknown keys.
type Tools struct {
	Exec    ExecConfig    `json:"exec"`
	Web     WebConfig     `json:"web"`
	Cron    CronConfig    `json:"cron"`
	MCP     MCPToolConfig `json:"mcp"`
	Message MessageConfig `json:"message"`
}

// Values of tools.exec.sandbox.
const (
	// SandboxOn (the default, also written "") runs every command in the
	// Landlock + namespaces sandbox, and withholds exec where the kernel
	// cannot provide it.
	SandboxOn = "on"
	// SandboxOff runs commands unconfined, as the gateway's own user.
	SandboxOff = "off"
)

// MessageConfig is tools.message: where the message, send_file and cron
// tools may send besides the chat a turn answers.
type MessageConfig struct {
	// AllowTo lists the other chats a turn may send to: session keys
	// ("dingtalk:group:cid…", "dingtalk:direct:<staff id>"), bare chat or
	// user ids, or "*" for any chat (a deliberate broadcast bot). Empty:
	// only the turn's own chat.
	AllowTo StringList `json:"allow_to"`
}

// ExecConfig is tools.exec.
type ExecConfig struct {
	Enabled bool `json:"enabled"` // default true
	// EnableDenyPatterns is read so PicoClaw configs load quietly, but the
	// built-in deny rules always apply; false draws a warning.
	EnableDenyPatterns *bool `json:"enable_deny_patterns"`
	// TimeoutSeconds bounds one command; 0 means DefaultExecTimeoutSeconds.
	TimeoutSeconds int `json:"timeout_seconds"`
	// CustomDenyPatterns are regular expressions refused besides the
	// built-in rules. From the environment the list is comma-separated, so
	// a pattern holding a comma must be written in the file.
	CustomDenyPatterns []string `json:"custom_deny_patterns"`
	// CustomAllowPatterns exempt a matching command from every deny rule.
	CustomAllowPatterns []string `json:"custom_allow_patterns"`
	// Sandbox is "on" (default, also "") or "off"; see SandboxOn.
	Sandbox string `json:"sandbox"`
	// Network gives sandboxed commands the host's network; off, they have
	// none at all (not even loopback).
	Network bool `json:"network"`
}

// SandboxOff reports whether tools.exec.sandbox turns the sandbox off.
func (e ExecConfig) SandboxOff() bool {
	return strings.EqualFold(strings.TrimSpace(e.Sandbox), SandboxOff)
}

// WebConfig is tools.web: web_search and web_fetch.
type WebConfig struct {
	Enabled    bool             `json:"enabled"` // default true
	Brave      BraveConfig      `json:"brave"`
	DuckDuckGo DuckDuckGoConfig `json:"duckduckgo"`
	// AllowPrivateFetch lets web_fetch reach loopback and private
	// addresses (not a PicoClaw key; PicoClaw lists hosts instead).
	AllowPrivateFetch bool `json:"allow_private_fetch"`
	// PrivateHostWhitelist is PicoClaw's per-host form, which this build
	// does not support; a non-empty list draws a warning.
	PrivateHostWhitelist StringList `json:"private_host_whitelist"`
}

// BraveConfig is tools.web.brave. PicoClaw v0.2.6 writes api_keys and
// older versions api_key; both are read.
type BraveConfig struct {
	Enabled    bool     `json:"enabled"`
	APIKey     string   `json:"api_key" secret:"true"`
	APIKeys    []string `json:"api_keys" secret:"true"`
	MaxResults int      `json:"max_results"` // 0 means DefaultSearchMaxResults
}

// Key returns the first non-blank Brave API key, api_key first; "" if none.
func (b BraveConfig) Key() string {
	for _, k := range append([]string{b.APIKey}, b.APIKeys...) {
		if k = strings.TrimSpace(k); k != "" {
			return k
		}
	}
	return ""
}

// DuckDuckGoConfig is tools.web.duckduckgo.
type DuckDuckGoConfig struct {
	Enabled    bool `json:"enabled"`     // default true
	MaxResults int  `json:"max_results"` // 0 means DefaultSearchMaxResults
}

// DefaultCronMinEverySeconds is tools.cron.min_every_seconds's default,
// the cron package's own minimum.
const DefaultCronMinEverySeconds = 10

// CronConfig is tools.cron.
type CronConfig struct {
	Enabled bool `json:"enabled"` // default true
	// MinEverySeconds is the shortest "every" interval a job may have
	// (default 10: a mistaken "every 1s" would flood a chat).
	MinEverySeconds int `json:"min_every_seconds"`
}

// MCPToolConfig is tools.mcp: Model Context Protocol servers whose tools
// are offered to the model. Off by default.
type MCPToolConfig struct {
	Enabled bool `json:"enabled"`
	// Servers maps a server's name (used in tool names) to its settings.
	Servers map[string]MCPServerConfig `json:"servers"`
}

// MCPServerConfig is one tools.mcp.servers entry: a command speaking MCP
// on stdin/stdout, or a streamable-HTTP endpoint.
type MCPServerConfig struct {
	// Enabled must be true for the server to be started, as in PicoClaw.
	Enabled bool     `json:"enabled"`
	Command string   `json:"command"`
	Args    []string `json:"args"`
	// Env is added to the command's environment (stdio only).
	Env map[string]string `json:"env" secret:"true"`
	// Type is "stdio", "http" (also "streamable-http") or "sse"; empty
	// means stdio when Command is set, else http. PicoClaw's "sse" is the
	// streamable-HTTP transport too.
	Type string `json:"type"`
	URL  string `json:"url"`
	// Headers are sent with every HTTP request (often an API key).
	Headers map[string]string `json:"headers" secret:"true"`
}

// MCP transports, as returned by MCPServerConfig.Transport.
const (
	MCPStdio = "stdio"
	MCPHTTP  = "http"
)

// Transport returns MCPStdio, MCPHTTP, or "" when Type is not one this
// build knows.
func (s MCPServerConfig) Transport() string {
	switch strings.ToLower(strings.TrimSpace(s.Type)) {
	case "":
		if strings.TrimSpace(s.Command) != "" {
			return MCPStdio
		}
		return MCPHTTP
	case "stdio":
		return MCPStdio
	case "http", "streamable-http", "streamable_http", "streamablehttp", "sse":
		return MCPHTTP
	}
	return ""
}

// ActiveMCPServers returns the servers to connect to: none unless
// tools.mcp.enabled, then those with enabled true.
func (c *Config) ActiveMCPServers() map[string]MCPServerConfig {
	m := c.Tools.MCP
	if !m.Enabled {
		return nil
	}
	out := make(map[string]MCPServerConfig)
	for name, s := range m.Servers {
		if s.Enabled {
			out[name] = s
		}
	}
	return out
}

func defaultTools() Tools {
	return Tools{
		Exec: ExecConfig{Enabled: true, TimeoutSeconds: DefaultExecTimeoutSeconds},
		Web: WebConfig{
			Enabled:    true,
			Brave:      BraveConfig{MaxResults: DefaultSearchMaxResults},
			DuckDuckGo: DuckDuckGoConfig{Enabled: true, MaxResults: DefaultSearchMaxResults},
		},
		Cron: CronConfig{Enabled: true},
	}
}

func normalizeTools(t *Tools) {
	if t.Exec.TimeoutSeconds == 0 {
		t.Exec.TimeoutSeconds = DefaultExecTimeoutSeconds
	}
	if t.Cron.MinEverySeconds == 0 {
		t.Cron.MinEverySeconds = DefaultCronMinEverySeconds
	}
	if t.Web.Brave.MaxResults == 0 {
		t.Web.Brave.MaxResults = DefaultSearchMaxResults
	}
	if t.Web.DuckDuckGo.MaxResults == 0 {
		t.Web.DuckDuckGo.MaxResults = DefaultSearchMaxResults
	}
}

func validateTools(t Tools) (warnings []string, errs []error) {
	fail := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if p := t.Exec.EnableDenyPatterns; p != nil && !*p {
		warnings = append(warnings, "config: tools.exec.enable_deny_patterns false is not supported by this build (ignored): the built-in deny rules always apply; use tools.exec.custom_allow_patterns to exempt commands")
	}
	switch strings.ToLower(strings.TrimSpace(t.Exec.Sandbox)) {
	case "", SandboxOn, SandboxOff:
	default:
		fail("tools.exec.sandbox", `must be "on" or "off", got %q`, t.Exec.Sandbox)
	}
	for i, to := range t.Message.AllowTo {
		if msg := checkAllowTo(to); msg != "" {
			fail(fmt.Sprintf("tools.message.allow_to[%d]", i), "%s", msg)
		}
	}
	if s := t.Cron.MinEverySeconds; s < 1 || s > 86400 {
		fail("tools.cron.min_every_seconds", "must be between 1 and 86400, got %d", s)
	}
	if t.Exec.TimeoutSeconds < 0 {
		fail("tools.exec.timeout_seconds", "must not be negative, got %d", t.Exec.TimeoutSeconds)
	}
	for _, list := range []struct {
		key      string
		patterns []string
	}{{"custom_deny_patterns", t.Exec.CustomDenyPatterns}, {"custom_allow_patterns", t.Exec.CustomAllowPatterns}} {
		for i, p := range list.patterns {
			if _, err := regexp.Compile(p); err != nil {
				fail(fmt.Sprintf("tools.exec.%s[%d]", list.key, i), "invalid regular expression: %v", err)
			}
		}
	}

	b := t.Web.Brave
	if b.MaxResults < 0 {
		fail("tools.web.brave.max_results", "must not be negative, got %d", b.MaxResults)
	}
	if t.Web.DuckDuckGo.MaxResults < 0 {
		fail("tools.web.duckduckgo.max_results", "must not be negative, got %d", t.Web.DuckDuckGo.MaxResults)
	}
	if slices.ContainsFunc(append([]string{b.APIKey}, b.APIKeys...), isSecretRef) {
		fail("tools.web.brave.api_keys", "enc:// and file:// references are not supported by this build; write the key or set %s", EnvName("tools.web.brave.api_key"))
	} else if b.Enabled && t.Web.Enabled && b.Key() == "" {
		fail("tools.web.brave.api_key", "required when tools.web.brave.enabled is true (or set %s)", EnvName("tools.web.brave.api_key"))
	}
	if len(t.Web.PrivateHostWhitelist) > 0 {
		warnings = append(warnings, "config: tools.web.private_host_whitelist is not supported by this build (ignored); set tools.web.allow_private_fetch to let web_fetch reach private addresses")
	}

	for _, name := range slices.Sorted(maps.Keys(t.MCP.Servers)) {
		s := t.MCP.Servers[name]
		used := t.MCP.Enabled && s.Enabled
		path := "tools.mcp.servers." + name
		for _, p := range checkMCPServer(s) {
			field := path
			if p.field != "" {
				field += "." + p.field
			}
			if used {
				fail(field, "%s", p.msg)
			} else {
				warnings = append(warnings, fmt.Sprintf("config: %s: %s (server disabled, ignored)", field, p.msg))
			}
		}
	}
	return warnings, errs
}

// checkAllowTo says what is wrong with one tools.message.allow_to entry.
func checkAllowTo(to string) string {
	to = strings.TrimSpace(to)
	switch {
	case to == "":
		return `must not be empty; expected "*", a session key such as "dingtalk:group:<conversation id>", or a chat id`
	case to == "*":
		return ""
	case strings.ContainsAny(to, " \t\n*"):
		return fmt.Sprintf(`%q is not a chat: expected "*", a session key such as "dingtalk:direct:<staff id>", or a chat id`, to)
	}
	// Two colons make a session key; fewer, a bare chat id.
	if _, _, err := picoclaw.ParseSessionKey(to); strings.Count(to, ":") >= 2 && err != nil {
		return fmt.Sprintf(`%q is not a session key: expected "<channel>:direct:<id>" or "<channel>:group:<id>"`, to)
	}
	return ""
}

// mcpProblem is one problem with an MCP server entry; field is "" when
// it concerns the entry as a whole.
type mcpProblem struct{ field, msg string }

// checkMCPServer lists what is wrong with one server entry. URLs, headers
// and env values are never quoted: they may hold tokens.
func checkMCPServer(s MCPServerConfig) []mcpProblem {
	command, url := strings.TrimSpace(s.Command) != "", strings.TrimSpace(s.URL) != ""
	switch s.Transport() {
	case "":
		return []mcpProblem{{"type", fmt.Sprintf("unknown transport %q (known: stdio, http, sse)", s.Type)}}
	case MCPStdio:
		if !command {
			return []mcpProblem{{"command", "required for a stdio server (or set url for an HTTP server)"}}
		}
	case MCPHTTP:
		switch {
		case !url && !command:
			return []mcpProblem{{"", "needs either command (a stdio server) or url (an HTTP server)"}}
		case !url:
			return []mcpProblem{{"url", fmt.Sprintf("required for type %q", s.Type)}}
		}
		if msg := checkHTTPURL(s.URL); msg != "" {
			return []mcpProblem{{"url", msg}}
		}
	}
	return nil
}
