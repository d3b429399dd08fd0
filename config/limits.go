package config

// Per-turn limits of agents.defaults: defaults and the ranges validation
// accepts.
const (
	DefaultTurnTimeout    = 600      // agents.defaults.turn_timeout, seconds
	DefaultMaxAnswerBytes = 64 << 10 // agents.defaults.max_answer_bytes
	DefaultToolTimeBudget = 300      // agents.defaults.tool_time_budget, seconds

	minTurnTimeout, maxTurnTimeout       = 1, 24 * 3600
	minMaxAnswerBytes, maxMaxAnswerBytes = 1 << 10, 256 << 10 // ≤ 14 DingTalk parts of 20,000 chars
	minToolTimeBudget, maxToolTimeBudget = 1, 24 * 3600
)

// defaultLimits fills the unset limits.
func defaultLimits(l *AgentDefaults) {
	if l.TurnTimeout == 0 {
		l.TurnTimeout = DefaultTurnTimeout
	}
	if l.MaxAnswerBytes == 0 {
		l.MaxAnswerBytes = DefaultMaxAnswerBytes
	}
	if l.ToolTimeBudget == 0 {
		l.ToolTimeBudget = DefaultToolTimeBudget
	}
}

// validateLimits reports each limit out of its range.
func validateLimits(l *AgentDefaults, fail func(path, format string, args ...any)) {
	for _, f := range []struct {
		key      string
		v        int
		min, max int
		unit     string
	}{
		{"turn_timeout", l.TurnTimeout, minTurnTimeout, maxTurnTimeout, " seconds"},
		{"max_answer_bytes", l.MaxAnswerBytes, minMaxAnswerBytes, maxMaxAnswerBytes, " bytes"},
		{"tool_time_budget", l.ToolTimeBudget, minToolTimeBudget, maxToolTimeBudget, " seconds"},
	} {
		if f.v < f.min || f.v > f.max {
			fail("agents.defaults."+f.key, "must be between %d and %d%s, got %d", f.min, f.max, f.unit, f.v)
		}
	}
}
