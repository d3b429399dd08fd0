package config

import (
	"fmt"
	"strings"
)

// A PicoClaw config holds many sections this build does not use (other
// channels, hardware tools, heartbeat, …). Warning about each one made a
// v0.2.6 config log dozens of "unknown key" lines at every start, burying
// the warnings that matter. So the keys PicoClaw itself defines are
// ignored silently, unless ignoring one changes what the user asked for:
// another channel enabled, or one of this build's tools disabled. Keys
// nobody defines (typos, other programs' keys) are still reported.

// picoclawKey reports whether path (a key this build does not model) is
// one of PicoClaw's own, and if so the warning its value calls for ("" for
// none). raw is the key's value from the file.
func picoclawKey(path string, raw any) (warning string, known bool) {
	if name, ok := strings.CutPrefix(path, "channels."); ok && !strings.Contains(name, ".") {
		if !picoclawChannel(name) {
			return "", false
		}
		if enabled(raw) {
			return fmt.Sprintf("config: %s is enabled, but this build serves only DingTalk (ignored)", path), true
		}
		return "", true
	}
	if tool, ok := strings.CutPrefix(path, "tools."); ok && offeredTool(tool) {
		off := raw == false // tools.message.enabled
		if m, ok := raw.(map[string]any); ok {
			off = m["enabled"] == false
		}
		if off {
			return fmt.Sprintf("config: %s says disabled, but this build offers %s regardless (ignored)",
				path, strings.TrimSuffix(tool, ".enabled")), true
		}
		return "", true
	}
	switch path {
	case
		// Top-level sections of PicoClaw v0.2.6 to v0.2.9.
		"isolation", "session", "bindings", "providers", "hooks", "heartbeat", "devices", "voice",
		"build_info", "hermes", "evolution", "events",
		"agents.list", "agents.defaults.max_llm_retries", "agents.defaults.llm_retry_backoff_secs",
		"agents.defaults.tool_feedback.separate_messages",
		// Tool settings of PicoClaw's other tools and search providers.
		"tools.allow_read_paths", "tools.allow_write_paths", "tools.find_skills", "tools.install_skill",
		"tools.skills", "tools.subagent", "tools.media_cleanup", "tools.send_tts", "tools.i2c", "tools.spi",
		"tools.serial", "tools.cron.exec_timeout_minutes", "tools.mcp.discovery",
		"tools.web.baidu_search", "tools.web.fetch_limit_bytes", "tools.web.format", "tools.web.gemini",
		"tools.web.glm_search", "tools.web.perplexity", "tools.web.prefer_native", "tools.web.provider",
		"tools.web.searxng", "tools.web.sogou", "tools.web.tavily":
		return "", true
	}
	return "", false
}

// picoclawChannel reports whether name is one of PicoClaw's channel types.
func picoclawChannel(name string) bool {
	switch name {
	case "telegram", "discord", "qq", "maixcam", "whatsapp", "feishu", "slack", "matrix", "line",
		"onebot", "wecom", "wecom_app", "wecom_aibot", "weixin", "pico", "pico_client", "irc":
		return true
	}
	return false
}

// offeredTool reports whether PicoClaw's per-tool section tools.<name>
// is about a tool this build always offers (its enabled switch is not
// read here).
func offeredTool(name string) bool {
	switch name {
	case "read_file", "write_file", "edit_file", "append_file", "list_dir", "web_fetch", "spawn", "message.enabled":
		return true
	}
	return false
}

// enabled reports whether a channel section says "enabled": true.
func enabled(raw any) bool {
	m, ok := raw.(map[string]any)
	return ok && m["enabled"] == true
}
