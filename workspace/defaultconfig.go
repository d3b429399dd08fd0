package workspace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultWorkspace is the workspace a default config names, as in PicoClaw.
const DefaultWorkspace = "~/.picoclaw/workspace"

// defaultConfig is a starter config.json in PicoClaw's current schema,
// version 3 (one DingTalk bot in channel_list, named "dingtalk"). It is
// enabled with empty credentials so that the gateway stops at once with
// "channel_list.dingtalk.settings.client_id: required …" until they are
// filled in (or given as PICOCLAW_* variables).
const defaultConfig = `{
  "version": 3,
  "agents": {
    "defaults": {
      "workspace": WORKSPACE,
      "data_dir": "~/.picoclaw/data",
      "restrict_to_workspace": true,
      "model_name": "gpt-4o-mini",
      "max_tokens": 8192,
      "max_tool_iterations": 20
    }
  },
  "model_list": [
    {
      "model_name": "gpt-4o-mini",
      "model": "openai/gpt-4o-mini",
      "api_base": "https://api.openai.com/v1",
      "api_key": ""
    }
  ],
  "channel_list": {
    "dingtalk": {
      "enabled": true,
      "type": "dingtalk",
      "allow_from": [],
      "group_trigger": {"mention_only": true, "prefixes": []},
      "reasoning_channel_id": "",
      "settings": {
        "client_id": "",
        "client_secret": ""
      }
    }
  },
  "tools": {
    "exec": {"enabled": true, "timeout_seconds": 60, "custom_deny_patterns": [], "custom_allow_patterns": []},
    "web": {
      "enabled": true,
      "brave": {"enabled": false, "api_key": "", "max_results": 5},
      "duckduckgo": {"enabled": true, "max_results": 5}
    },
    "cron": {"enabled": true},
    "mcp": {"enabled": false, "servers": {}}
  },
  "gateway": {"host": "127.0.0.1", "port": 18790}
}
`

// DefaultConfig returns the starter config.json text with workspace as
// agents.defaults.workspace.
func DefaultConfig(workspace string) []byte {
	ws, _ := json.Marshal(workspace) // a string always marshals
	return []byte(strings.Replace(defaultConfig, "WORKSPACE", string(ws), 1))
}

// WriteDefaultConfig writes DefaultConfig(DefaultWorkspace) to path with
// mode 0600 (it will hold secrets), creating path's directory. An existing
// file is an error unless force, which first copies it to a free
// "<path>.bak" name.
func WriteDefaultConfig(path string, force bool) error {
	data := DefaultConfig(DefaultWorkspace)
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("workspace: write config: %w", err)
	}
	err := writeNew(path, data)
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("workspace: write config: %w", err)
	}
	if !force {
		return fmt.Errorf("workspace: write config: %s already exists (use --force to replace it; the old file is kept as .bak): %w", path, fs.ErrExist)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("workspace: write config: %w", err)
	}
	if _, err := backup(path, old); err != nil {
		return fmt.Errorf("workspace: write config: back up %s: %w", path, err)
	}
	if err := replace(path, data); err != nil {
		return fmt.Errorf("workspace: write config: %w", err)
	}
	return nil
}
