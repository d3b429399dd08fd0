package tools

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// cmdStart matches where a shell command word may begin: the start of the
// line, or after ; & | ( ` or $( , followed by an optional directory
// (/sbin/reboot is reboot).
const cmdStart = `(?:^|[;&|(\x60\n]|\$\()\s*(?:\S*/)?`

// diskDev matches the block devices under /dev that hold file systems.
const diskDev = `/dev/(?:sd|hd|vd|xvd|nvme|mmcblk|md\d|dm-|mapper/|disk/|loop)`

// argEnd matches the end of a shell word.
const argEnd = `(?:[\s;&|)]|$)`

// rootArg matches an argument naming the whole tree: / /* ~ ~/* * $HOME.
const rootArg = `(?:/\*?|~/?\*?|\*|\$HOME/?\*?|\$\{HOME\}/?\*?)`

// shell matches a shell program as a command word.
const shell = `(?:\S*/)?(?:ba|z|da|k|a)?sh`

// DefaultDenyRules returns the built-in deny list of exec: commands that
// wreck the machine or escalate privileges. It is a friendly early
// refusal, not the security boundary: the sandbox is. Each rule is a
// named regular expression matched against the command line and against
// forms of it with quotes, backslashes, $(echo …) and doubled slashes
// undone: rm with empty quotes inside it, or with '/' quoted, is still rm.
//
//   - rm-recursive-root: rm with -r/-R/--recursive anywhere and /, /*, ~, *, $HOME as an argument
//   - rm-no-preserve-root: rm … --no-preserve-root
//   - mkfs: mkfs, mkfs.ext4, …
//   - dd-to-device: dd … of=/dev/sda (any disk device; /dev/null is fine)
//   - write-to-disk-device: > /dev/sd*, /dev/nvme*, /dev/vd*, /dev/mmcblk*, …
//   - power: shutdown, reboot, poweroff, halt, init 0/6, systemctl poweroff/reboot/halt (with or without a path)
//   - fork-bomb: a function that pipes itself into itself in the background, whatever its name
//   - chmod-recursive-root: chmod -R (before or after the mode) on /
//   - pipe-to-shell: anything piped into sh, bash, zsh, dash, ksh (curl | sh, base64 -d | sh)
//   - sudo: sudo or su as a command
//   - kill-all: kill -9 -1 (every process the user may signal)
func DefaultDenyRules() []DenyRule {
	return []DenyRule{
		{"rm-recursive-root", `(?:^|[\s;&|(\x60/])rm\s(?:[^;&|\n]*\s)?(?:-[a-zA-Z]*[rR][a-zA-Z]*|--recursive)\s(?:[^;&|\n]*\s)?` + rootArg + argEnd},
		{"rm-recursive-root", `(?:^|[\s;&|(\x60/])rm\s(?:[^;&|\n]*\s)?` + rootArg + `\s(?:[^;&|\n]*\s)?(?:-[a-zA-Z]*[rR][a-zA-Z]*|--recursive)` + argEnd},
		{"rm-no-preserve-root", `\brm\s.*--no-preserve-root`},
		{"mkfs", cmdStart + `(?:sudo\s+)?mkfs(?:\.\w+)?` + argEnd},
		{"dd-to-device", `\bdd\s.*\bof=` + diskDev},
		{"write-to-disk-device", `>\s*` + diskDev},
		{"power", cmdStart + `(?:sudo\s+)?(?:shutdown|reboot|poweroff|halt|init\s+[06]|telinit\s+[06]|systemctl\s+(?:poweroff|reboot|halt|kexec))` + argEnd},
		{"fork-bomb", `:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:`},
		{"chmod-recursive-root", `\bchmod\s(?:[^;&|\n]*\s)?(?:-[a-zA-Z]*R[a-zA-Z]*|--recursive)\s(?:[^;&|\n]*\s)?/\*?` + argEnd},
		{"chmod-recursive-root", `\bchmod\s(?:[^;&|\n]*\s)?/\*?\s(?:[^;&|\n]*\s)?(?:-[a-zA-Z]*R[a-zA-Z]*|--recursive)` + argEnd},
		{"pipe-to-shell", `\|\s*(?:sudo\s+)?` + shell + argEnd},
		{"sudo", cmdStart + `(?:sudo|su|doas)` + argEnd},
		{"kill-all", `\bkill\s+(?:-\S+\s+)*-1\s*(?:[;&|]|$)`},
	}
}

// DenyRule is a named regular expression; a command it matches is refused.
type DenyRule struct {
	Name    string
	Pattern string
}

type compiledRule struct {
	name string
	re   *regexp.Regexp
}

// policy decides whether exec may run a command.
type policy struct {
	deny  []compiledRule
	allow []*regexp.Regexp
}

// newPolicy compiles the built-in rules, then the extra deny patterns
// (named "custom: <pattern>"), then the allow patterns.
func newPolicy(extraDeny, allow []string) (*policy, error) {
	p := &policy{}
	for _, r := range DefaultDenyRules() {
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			return nil, fmt.Errorf("exec: built-in deny rule %s: %w", r.Name, err)
		}
		p.deny = append(p.deny, compiledRule{r.Name, re})
	}
	for _, s := range extraDeny {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("exec: deny pattern %q: %w", s, err)
		}
		p.deny = append(p.deny, compiledRule{"custom: " + s, re})
	}
	for _, s := range allow {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("exec: allow pattern %q: %w", s, err)
		}
		p.allow = append(p.allow, re)
	}
	return p, nil
}

// checkPatterns reports the first deny or allow pattern that is not a
// valid regular expression, in newPolicy's words.
func checkPatterns(extraDeny, allow []string) error {
	for _, s := range extraDeny {
		if _, err := regexp.Compile(s); err != nil {
			return fmt.Errorf("exec: deny pattern %q: %w", s, err)
		}
	}
	for _, s := range allow {
		if _, err := regexp.Compile(s); err != nil {
			return fmt.Errorf("exec: allow pattern %q: %w", s, err)
		}
	}
	return nil
}

// check returns an error naming the rule that denies command, or nil. A
// command matching an allow pattern is exempt from every deny rule.
func (p *policy) check(command string) error {
	for _, re := range p.allow {
		if re.MatchString(command) {
			return nil
		}
	}
	for _, form := range commandForms(command) {
		for _, r := range p.deny {
			if r.re.MatchString(form) {
				return fmt.Errorf("command denied by safety policy: %s", r.name)
			}
		}
		if forkBomb(form) {
			return fmt.Errorf("command denied by safety policy: fork-bomb")
		}
	}
	return nil
}

// shellPatterns are the exec policy's patterns, compiled at the first
// command checked rather than at start-up.
var shellPatterns = sync.OnceValue(func() *shellREs {
	return &shellREs{
		echoSubst:   regexp.MustCompile("\\$\\(\\s*(?:echo|printf)\\s+([^()]*?)\\s*\\)|`\\s*(?:echo|printf)\\s+([^`]*?)\\s*`"),
		ifsVar:      regexp.MustCompile(`\$\{?IFS\}?`),
		manySlashes: regexp.MustCompile(`/(?:\.?/)+`),
		emptyQuotes: regexp.MustCompile(`''|""`),
		funcDef:     regexp.MustCompile(`([^\s;&|(){}]+)\s*\(\s*\)\s*\{([^}]*)\}`),
	}
})

type shellREs struct {
	echoSubst, ifsVar, manySlashes, emptyQuotes, funcDef *regexp.Regexp
}

// commandForms returns command and the forms of it a shell would see the
// same: quotes and backslashes removed, $(echo rm) and `echo rm` replaced by
// their words, $IFS by a space, // and /./ by /.
func commandForms(command string) []string {
	forms := []string{command}
	s := shellPatterns().emptyQuotes.ReplaceAllString(command, "")
	s = shellPatterns().echoSubst.ReplaceAllString(s, "$1$2")
	s = shellPatterns().ifsVar.ReplaceAllString(s, " ")
	s = strings.NewReplacer(`"`, "", `'`, "", `\`, "").Replace(s)
	s = shellPatterns().manySlashes.ReplaceAllString(s, "/")
	if s != command {
		forms = append(forms, s)
	}
	return forms
}

// forkBomb reports a function that runs itself twice in a pipe, under any
// name: f(){ f|f& };f, bomb(){ bomb | bomb & }; bomb.
func forkBomb(command string) bool {
	for _, m := range shellPatterns().funcDef.FindAllStringSubmatch(command, -1) {
		name, body := regexp.QuoteMeta(m[1]), m[2]
		if regexp.MustCompile(`(?:^|[\s;&|])` + name + `\s*\|\s*` + name + `(?:[\s;&|]|$)`).MatchString(body) {
			return true
		}
	}
	return false
}
