package config

import "time"

// Struct tags used by this package's reflective decoder and env overrides:
//
//	json:"name"   the key in config.json (its path also names the env variable)
//	secret:"true" the value is never echoed, not even from a bad env variable
//	env:"-"       no PICOCLAW_* override is derived for the field

// Config is the subset of PicoClaw's config.json this build understands.
type Config struct {
	Version   int           `json:"version" env:"-"`
	Agents    Agents        `json:"agents"`
	ModelList []ModelConfig `json:"model_list"`
	// Channels is the pre-version-3 layout (PicoClaw v0.2.6). After Parse
	// Channels.DingTalk holds the bot the gateway runs today (the first
	// enabled one of DingTalkBots), whichever layout the file used.
	Channels Channels `json:"channels"`
	Gateway  Gateway  `json:"gateway"`
	Tools    Tools    `json:"tools"`
	Storage  Storage  `json:"storage"`
	// DingTalkBots is every DingTalk bot of the file, normalised, in file
	// order: channel_list entries of type "dingtalk" (version 3), else the
	// one channels.dingtalk bot, named "dingtalk" (possibly disabled).
	// Never empty after Parse.
	DingTalkBots []DingTalkBot `json:"-"`
}

// Agents holds agents.*; PicoClaw's agents.list is not modelled.
type Agents struct {
	Defaults AgentDefaults `json:"defaults"`
}

// AgentDefaults is agents.defaults. Fields this build does not act on are
// kept so that a PicoClaw config's known keys are not reported as unknown.
type AgentDefaults struct {
	// Workspace is absolute after loading, with "~" expanded: what the
	// model's tools see.
	Workspace string `json:"workspace"`
	// DataDir is the gateway's own data (sessions, journal, outbox, routes,
	// cron jobs, received media), out of every tool's reach; absolute after
	// loading, default ~/.picoclaw/data. Never inside the workspace, nor
	// the workspace inside it.
	DataDir string `json:"data_dir"`
	// TurnTimeout bounds one turn (model calls, tools, retries), in
	// seconds; MaxAnswerBytes cuts off a longer answer, which then ends
	// with "[answer truncated]"; ToolTimeBudget bounds the time all tool
	// calls of one turn take together, in seconds. See limits.go.
	TurnTimeout    int `json:"turn_timeout"`
	MaxAnswerBytes int `json:"max_answer_bytes"`
	ToolTimeBudget int `json:"tool_time_budget"`
	// RestrictToWorkspace is never nil after loading (default true).
	RestrictToWorkspace       *bool  `json:"restrict_to_workspace"`
	AllowReadOutsideWorkspace bool   `json:"allow_read_outside_workspace"`
	Provider                  string `json:"provider"`
	ModelName                 string `json:"model_name"`
	// Model is the pre-model_name spelling of ModelName (older PicoClaw);
	// it is folded into ModelName while loading.
	Model                     string       `json:"model"`
	ModelFallbacks            []string     `json:"model_fallbacks"`
	ImageModel                string       `json:"image_model"`
	ImageModelFallbacks       []string     `json:"image_model_fallbacks"`
	MaxTokens                 int          `json:"max_tokens"`
	ContextWindow             int          `json:"context_window"`
	Temperature               *float64     `json:"temperature"`
	MaxToolIterations         int          `json:"max_tool_iterations"`
	SummarizeMessageThreshold int          `json:"summarize_message_threshold"`
	SummarizeTokenPercent     int          `json:"summarize_token_percent"`
	MaxMediaSize              int          `json:"max_media_size"`
	Routing                   Routing      `json:"routing"`
	SteeringMode              string       `json:"steering_mode"`
	SubTurn                   SubTurn      `json:"subturn"`
	ToolFeedback              ToolFeedback `json:"tool_feedback"`
	SplitOnMarker             bool         `json:"split_on_marker"`
	ContextManager            string       `json:"context_manager"`
	// ContextManagerConfig is free-form JSON (numbers as json.Number).
	ContextManagerConfig any `json:"context_manager_config"`
}

// Routing is agents.defaults.routing (PicoClaw's light-model routing).
type Routing struct {
	Enabled    bool    `json:"enabled"`
	LightModel string  `json:"light_model"`
	Threshold  float64 `json:"threshold"`
}

// SubTurn is agents.defaults.subturn.
type SubTurn struct {
	MaxDepth              int `json:"max_depth"`
	MaxConcurrent         int `json:"max_concurrent"`
	DefaultTimeoutMinutes int `json:"default_timeout_minutes"`
	DefaultTokenBudget    int `json:"default_token_budget"`
	ConcurrencyTimeoutSec int `json:"concurrency_timeout_sec"`
}

// ToolFeedback is agents.defaults.tool_feedback.
type ToolFeedback struct {
	Enabled       bool `json:"enabled"`
	MaxArgsLength int  `json:"max_args_length"`
}

// ModelConfig is one model_list entry. Several entries may share a
// ModelName; callers rotate over them (see Config.Models).
type ModelConfig struct {
	ModelName string `json:"model_name"`
	// Model is "protocol/model-id"; see Protocol and ModelID.
	Model   string   `json:"model"`
	APIBase string   `json:"api_base"`
	APIKey  string   `json:"api_key" secret:"true"`
	APIKeys []string `json:"api_keys" secret:"true"`
	Proxy   string   `json:"proxy"`
	// Fallbacks names other model_list entries to try after this one.
	Fallbacks      []string `json:"fallbacks"`
	AuthMethod     string   `json:"auth_method"`
	ConnectMode    string   `json:"connect_mode"`
	Workspace      string   `json:"workspace"`
	RPM            int      `json:"rpm"`
	MaxTokensField string   `json:"max_tokens_field"`
	// RequestTimeout is in seconds; 0 means the caller's default.
	RequestTimeout int    `json:"request_timeout"`
	ThinkingLevel  string `json:"thinking_level"`
	// ExtraBody is merged into each request body (numbers as json.Number).
	ExtraBody     map[string]any    `json:"extra_body"`
	CustomHeaders map[string]string `json:"custom_headers"`
	Enabled       *bool             `json:"enabled"`
	UserAgent     string            `json:"user_agent"`
	Vision        *bool             `json:"vision"`
}

// Channels holds channels.*; only DingTalk is modelled.
type Channels struct {
	DingTalk DingTalkConfig `json:"dingtalk"`
}

// DingTalkConfig is channels.dingtalk.
type DingTalkConfig struct {
	Enabled      bool   `json:"enabled"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret" secret:"true"`
	// AllowFrom lists sender ids allowed to talk to the bot; empty allows
	// everyone. JSON numbers are accepted and kept as written.
	AllowFrom          StringList   `json:"allow_from"`
	GroupTrigger       GroupTrigger `json:"group_trigger"`
	ReasoningChannelID string       `json:"reasoning_channel_id"`
	// ReplyAtSender mentions the asker in group replies; unset means true.
	ReplyAtSender *bool `json:"reply_at_sender"`
	// ThinkingReaction puts DingTalk's "🤔思考中" reaction on the user's
	// message while the answer is worked on; unset means true.
	ThinkingReaction *bool `json:"thinking_reaction"`
	// CardTemplateID is the AI card template answers stream into (a
	// template of the app's tenant with a markdown variable "content");
	// empty sends plain markdown replies. Not a PicoClaw key.
	CardTemplateID string `json:"card_template_id"`
	// CardUpdateMs is the least time between two streaming updates of a
	// card, in milliseconds; 0 takes the default, 300. Each update is one
	// API call from DingTalk's quota. Not a PicoClaw key.
	CardUpdateMs int `json:"card_update_ms"`
	// APIBase is the OpenAPI root without a trailing slash (not a PicoClaw
	// key: it lets tests point the channel at a fake server).
	APIBase string `json:"api_base"`
	// ChatLimit and ChatWindowSeconds are DingTalk's per-chat robot limit
	// (about 20 messages a minute, then errcode 130101): replies beyond it
	// wait their turn. Zero takes the defaults, 20 and 60; not PicoClaw
	// keys, they let a test shrink the window.
	ChatLimit         int `json:"chat_limit"`
	ChatWindowSeconds int `json:"chat_window_seconds"`
	// GroupAllowFrom lists the group chats answered (conversation ids,
	// bare or "dingtalk:group:<id>"); empty or "*" answers every group.
	// Not a PicoClaw key.
	GroupAllowFrom StringList `json:"group_allow_from"`
	// Groups holds per-group settings by conversation id, "*" for every
	// group; see GroupSettings and DingTalkConfig.Group. Not a PicoClaw key.
	Groups map[string]GroupSettings `json:"groups"`
	// ModelName answers this bot's chats instead of
	// agents.defaults.model_name (a group's own model_name still wins);
	// its fallbacks are agents.defaults.model_fallbacks. Not a PicoClaw
	// key: channel_list.<name>.settings.model_name.
	ModelName string `json:"model_name"`
	// Workspace is this bot's own workspace (prompt files, memory, the
	// files its tools reach) instead of agents.defaults.workspace; "~"
	// expands, and it is absolute after loading. Not a PicoClaw key:
	// channel_list.<name>.settings.workspace.
	Workspace string `json:"workspace"`
	// Agent names an agents.list entry (PicoClaw's agents) whose
	// workspace and model this bot uses where it names none itself; a
	// PicoClaw binding of the bot's channel to an agent does the same.
	// channel_list.<name>.settings.agent.
	Agent string `json:"agent"`
}

// GroupTrigger decides when the bot answers in a group chat.
type GroupTrigger struct {
	MentionOnly *bool    `json:"mention_only"`
	Prefixes    []string `json:"prefixes"`
}

// ThinkingReactionOrDefault reports thinking_reaction, true when unset.
func (c DingTalkConfig) ThinkingReactionOrDefault() bool {
	return c.ThinkingReaction == nil || *c.ThinkingReaction
}

// DefaultCardUpdateMs is card_update_ms when unset.
const DefaultCardUpdateMs = 300

// CardUpdateInterval is card_update_ms as a duration, the default when unset.
func (c DingTalkConfig) CardUpdateInterval() time.Duration {
	if c.CardUpdateMs <= 0 {
		return DefaultCardUpdateMs * time.Millisecond
	}
	return time.Duration(c.CardUpdateMs) * time.Millisecond
}

// MentionOnlyOrDefault reports mention_only, true when unset.
func (g GroupTrigger) MentionOnlyOrDefault() bool {
	if g.MentionOnly == nil {
		return true
	}
	return *g.MentionOnly
}

// Gateway is gateway.*.
type Gateway struct {
	Host      string `json:"host"`
	Port      int    `json:"port"`
	HotReload bool   `json:"hot_reload"`
	LogLevel  string `json:"log_level"`
}

// StringList is a list of strings that also accepts JSON numbers (and a
// single bare string or number), as PicoClaw's allow_from does. From the
// environment it is a comma-separated list.
type StringList []string
