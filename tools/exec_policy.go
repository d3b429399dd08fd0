package tools

import (
	"fmt"
	"regexp"
)

// cmdStart matches where a shell command word may begin: the start of the
// line, or after ; & | ( ` or $( .
const cmdStart = `(?:^|[;&|(\x60]|\$\()\s*`

// diskDev matches the block devices under /dev that hold file systems.
const diskDev = `/dev/(?:sd|hd|vd|xvd|nvme|mmcblk|md\d|dm-|mapper/|disk/|loop)`

// argEnd matches the end of a shell word.
const argEnd = `(?:[\s;&|)]|$)`

// DefaultDenyRules returns the built-in deny list of exec: commands that wreck
// the machine or escalate privileges. Each rule is a named regular
// expression matched against the whole command line. It catches the
// careless forms a confused model writes, not a determined attacker.
//
//   - rm-recursive-root: rm -r/-rf (any flag order) of /, /*, ~, ~/*, *, $HOME
//   - rm-no-preserve-root: rm … --no-preserve-root
//   - mkfs: mkfs, mkfs.ext4, …
//   - dd-to-device: dd … of=/dev/sda (any disk device; /dev/null is fine)
//   - write-to-disk-device: > /dev/sd*, /dev/nvme*, /dev/vd*, /dev/mmcblk*, …
//   - power: shutdown, reboot, poweroff, halt, init 0/6, systemctl poweroff/reboot/halt
//   - fork-bomb: :(){ :|:& };:
//   - chmod-recursive-root: chmod -R 777 /
//   - pipe-to-shell: curl … | sh, wget … | bash (and zsh, dash, ksh, sudo sh)
//   - sudo: sudo as a command
//   - kill-all: kill -9 -1 (every process the user may signal)
func DefaultDenyRules() []DenyRule {
	return []DenyRule{
		{"rm-recursive-root", `\brm\s+(?:-\S+\s+)*(?:-[a-zA-Z]*[rR][a-zA-Z]*|--recursive)\s+(?:-\S+\s+)*(?:/\*?|~/?\*?|\*|\$HOME/?\*?|\$\{HOME\}/?\*?)` + argEnd},
		{"rm-no-preserve-root", `\brm\s.*--no-preserve-root`},
		{"mkfs", cmdStart + `(?:sudo\s+)?mkfs(?:\.\w+)?` + argEnd},
		{"dd-to-device", `\bdd\s.*\bof=` + diskDev},
		{"write-to-disk-device", `>\s*` + diskDev},
		{"power", cmdStart + `(?:sudo\s+)?(?:shutdown|reboot|poweroff|halt|init\s+[06]|systemctl\s+(?:poweroff|reboot|halt))` + argEnd},
		{"fork-bomb", `:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:`},
		{"chmod-recursive-root", `\bchmod\s+(?:-\S+\s+)*-[a-zA-Z]*R[a-zA-Z]*\s+(?:-\S+\s+)*0?777\s+/\*?` + argEnd},
		{"pipe-to-shell", `\b(?:curl|wget)\b[^|]*\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh` + argEnd},
		{"sudo", cmdStart + `sudo` + argEnd},
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

// check returns an error naming the rule that denies command, or nil. A
// command matching an allow pattern is exempt from every deny rule.
func (p *policy) check(command string) error {
	for _, re := range p.allow {
		if re.MatchString(command) {
			return nil
		}
	}
	for _, r := range p.deny {
		if r.re.MatchString(command) {
			return fmt.Errorf("command denied by safety policy: %s", r.name)
		}
	}
	return nil
}
