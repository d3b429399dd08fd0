// Package workspace lays out the assistant's workspace directory and fills
// it with starter files.
//
// A workspace holds:
//
//	AGENTS.md, SOUL.md, USER.md, IDENTITY.md  prompt files (templates)
//	memory/MEMORY.md                          long-term memory (template)
//	skills/<name>/SKILL.md                    optional skills
//	anything else                             files users ask the agent to make
//
// Everything here is shared by every chat and reachable by the tools. The
// gateway's own data (sessions, journal, cron jobs, received media) lives
// in the data dir instead (package datadir), out of the tools' reach.
//
// Init creates what is missing and never touches a user's file unless
// asked to (force), and then keeps a .bak copy of what it replaces.
// WriteDefaultConfig writes a starter config.json the same careful way.
package workspace
