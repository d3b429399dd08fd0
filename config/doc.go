// Package config loads ~/.picoclaw/config.json in PicoClaw v0.2.6's schema.
//
// Only the sections this build uses are modelled: agents.defaults,
// model_list, channels.dingtalk, gateway and part of tools (exec, web,
// cron, mcp), plus "version". Everything else a PicoClaw config may hold
// (other channels, other tool settings, heartbeat, …) is
// reported as a warning naming the full key path and otherwise ignored, so
// an existing PicoClaw config loads unchanged. Keys starting with "_"
// (PicoClaw's "_comment" convention) are treated as comments.
//
// Loading runs in a fixed order: built-in defaults, then the file, then
// PICOCLAW_* environment overrides (derived by reflection from the json
// paths, e.g. PICOCLAW_CHANNELS_DINGTALK_CLIENT_ID), then normalisation
// (~ expansion, default model), then validation. All problems found are
// reported together, each naming its field path; secret values
// (client_secret, API keys) never appear in an error.
package config
