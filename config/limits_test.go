package config

import (
	"strings"
	"testing"
)

func TestTurnLimits(t *testing.T) {
	base := `{"agents":{"defaults":{%s}}}`
	cfg, _, err := Parse([]byte(strings.Replace(base, "%s", "", 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := cfg.Agents.Defaults; d.TurnTimeout != 600 || d.MaxAnswerBytes != 65536 || d.ToolTimeBudget != 300 {
		t.Errorf("defaults = %d, %d, %d; want 600, 65536, 300", d.TurnTimeout, d.MaxAnswerBytes, d.ToolTimeBudget)
	}
	env := map[string]string{"PICOCLAW_AGENTS_DEFAULTS_MAX_ANSWER_BYTES": "4096"}
	cfg, _, err = Parse([]byte(strings.Replace(base, "%s", `"turn_timeout": 30, "tool_time_budget": 20`, 1)), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if d := cfg.Agents.Defaults; d.TurnTimeout != 30 || d.MaxAnswerBytes != 4096 || d.ToolTimeBudget != 20 {
		t.Errorf("set = %d, %d, %d; want 30, 4096, 20", d.TurnTimeout, d.MaxAnswerBytes, d.ToolTimeBudget)
	}
	for _, bad := range []struct{ json, path string }{
		{`"turn_timeout": 100000`, "agents.defaults.turn_timeout"},
		{`"turn_timeout": -1`, "agents.defaults.turn_timeout"},
		{`"max_answer_bytes": 100`, "agents.defaults.max_answer_bytes"},
		{`"max_answer_bytes": 10000000`, "agents.defaults.max_answer_bytes"},
		{`"tool_time_budget": -3`, "agents.defaults.tool_time_budget"},
	} {
		_, _, err := Parse([]byte(strings.Replace(base, "%s", bad.json, 1)), nil)
		if err == nil || !strings.Contains(err.Error(), bad.path) || !strings.Contains(err.Error(), "must be between") {
			t.Errorf("%s: err = %v, want one naming %s and its range", bad.json, err, bad.path)
		}
	}
}
