// Package workspace lays out the assistant's workspace directory and fills
// it with starter files.
//
// A workspace holds:
//
//	AGENTS.md, SOUL.md, USER.md, IDENTITY.md  prompt files (templates)
//	memory/MEMORY.md                          long-term memory (template)
//	sessions/                                 conversation histories
//	skills/<name>/SKILL.md                    optional skills
//	cron/                                     scheduled jobs
//	media/                                    downloaded attachments
//
// Init creates what is missing and never touches a user's file unless
// asked to (force), and then keeps a .bak copy of what it replaces.
// WriteDefaultConfig writes a starter config.json the same careful way.
package workspace
