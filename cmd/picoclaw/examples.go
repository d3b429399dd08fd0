package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are the Example: lines of each command's help, keyed by the
// command's path below the root; "PROG" becomes the command the user ran
// (see invokedAs), so the lines can be pasted as they are.
var examples = map[string]string{
	"": `  PROG onboard                  # write ~/.picoclaw/config.json and the workspace
  PROG agent -m "hello"         # try the model in the terminal
  PROG doctor                   # check every piece, naming the fix of what fails
  PROG gateway                  # serve DingTalk`,
	"onboard": `  PROG onboard
  PROG onboard --dingtalk       # the DingTalk console steps, then asks for the Client ID and Secret
  PROG onboard --force          # start over (the old config is kept as config.json.bak)
  PROG --config ./dev.json onboard`,
	"agent": `  PROG agent                    # chat; Ctrl-C stops an answer, Ctrl-D or /exit leaves
  PROG agent -m "What is on my calendar today?"
  PROG agent --show-reasoning -m "Plan a 3-day trip to Hangzhou"`,
	"gateway": `  PROG gateway
  PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET=... PROG gateway --log-level debug
  curl http://127.0.0.1:18790/health`,
	"doctor": `  PROG doctor                   # check config, DingTalk, the model, folders, exec sandbox
  PROG doctor --listen 60s      # also wait for a message you send the bot
  PROG --config ./dev.json doctor`,
	"status": `  PROG status
  PROG --config ./dev.json status`,
	"version": `  PROG version
  PROG --version`,
	"cron": `  PROG cron list
  PROG cron add --message "Drink water" --every 2h --chat dingtalk:direct:0123
  PROG cron disable 1a2b3c`,
	"cron list":    `  PROG cron list`,
	"cron remove":  `  PROG cron remove 1a2b3c       # the ID from ` + "`cron list`",
	"cron enable":  `  PROG cron enable 1a2b3c`,
	"cron disable": `  PROG cron disable 1a2b3c`,
}

// addExamples fills in each command's Example from examples where the
// command has none of its own, and makes its own name the command run.
func addExamples(cmd *cobra.Command, prog string) {
	key := strings.TrimSpace(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()))
	if ex, ok := examples[key]; ok && cmd.Example == "" {
		cmd.Example = strings.ReplaceAll(ex, "PROG", prog)
	} else {
		cmd.Example = strings.ReplaceAll(cmd.Example, "  picoclaw ", "  "+prog+" ")
	}
	for _, c := range cmd.Commands() {
		addExamples(c, prog)
	}
}
