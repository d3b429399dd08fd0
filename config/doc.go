// Package config loads ~/.picoclaw/config.json in either PicoClaw
// generation: v0.2.6's "channels.dingtalk" (no version, or version 1 or
// 2, with PicoClaw's own migration rules for them) and version 3's
// "channel_list", whose entries of "type": "dingtalk" are DingTalk bots
// with their credentials, and this build's extra keys, under "settings".
// Both become one in-memory form, Config.DingTalkBots: a named list of
// bots (v0.2.6's single bot is named "dingtalk").
//
// Only the sections this build uses are modelled: agents.defaults,
// model_list, the DingTalk channels, gateway and part of tools (exec, web,
// cron, mcp), plus "version". The rest of what a PicoClaw config holds
// (other channels and channel types, other tool settings, heartbeat, …)
// is ignored silently, so an existing PicoClaw config loads unchanged and
// quietly, except where ignoring it changes what the user asked for (an
// enabled other channel, a tool of this build marked disabled): those are
// warnings. Keys PicoClaw does not define either (typos) are reported as
// warnings naming the full key path. Keys starting with "_" (PicoClaw's
// "_comment" convention) are treated as comments.
//
// Loading runs in a fixed order: built-in defaults, then the file, then
// PICOCLAW_* environment overrides (derived by reflection from the json
// paths, e.g. PICOCLAW_CHANNELS_DINGTALK_CLIENT_ID or
// PICOCLAW_CHANNEL_LIST_<NAME>_SETTINGS_CLIENT_SECRET), then normalisation
// (~ expansion, default model), then validation. All problems found are
// reported together, each naming its field path; secret values
// (client_secret, API keys) never appear in an error.
//
// A Watcher reloads the file while a gateway runs (on a change, or when
// asked on SIGHUP); Diff tells the keys a running gateway applies
// (IsReloadable: allow lists, group triggers, per-group settings) from
// those that need a restart.
package config
