package workspace

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"picoclaw"
)

// Bounds that keep a skill list cheap in every system prompt.
const (
	maxSkillHead    = 16 << 10 // bytes of SKILL.md read for its summary
	maxSkillSummary = 200      // runes of description per skill
)

// SkillsSummary lists the skills in dir/skills, one line each, sorted by
// name:
//
//   - weather: Current weather and forecasts. (skills/weather/SKILL.md)
//
// The name and description come from SKILL.md's YAML front matter (name:,
// description:), else the directory name and the first line of text that
// is not a heading. Directories without a readable SKILL.md are skipped. It
// returns "" when there are no skills; the caller adds a heading.
func SkillsSummary(dir string) (string, error) {
	entries, err := os.ReadDir(Skills(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("workspace: list skills: %w", err)
	}
	var lines []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		rel := filepath.ToSlash(filepath.Join(SkillsDir, e.Name(), "SKILL.md"))
		head, err := readHead(filepath.Join(dir, filepath.FromSlash(rel)), maxSkillHead)
		if err != nil {
			continue // a broken skill must not break every prompt
		}
		name, desc := describeSkill(head)
		if name == "" {
			name = e.Name()
		}
		line := "- " + name
		if desc != "" {
			line += ": " + picoclaw.Title(desc, maxSkillSummary)
		}
		lines = append(lines, line+" ("+rel+")")
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n"), nil
}

func readHead(name string, n int64) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, n))
	return string(b), err
}

// describeSkill reads name and description from text's front matter, or
// the description from its first line of prose.
func describeSkill(text string) (name, desc string) {
	text = strings.ReplaceAll(strings.TrimPrefix(text, "\ufeff"), "\r\n", "\n")
	body := text
	if fm, rest, ok := frontMatter(text); ok {
		body = rest
		name = strings.TrimSpace(fm["name"])
		desc = strings.TrimSpace(fm["description"])
	}
	if desc == "" {
		for _, line := range strings.Split(body, "\n") {
			line = strings.TrimSpace(line)
			if line != "" && line != "---" && !strings.HasPrefix(line, "#") {
				desc = line
				break
			}
		}
	}
	return name, desc
}

// frontMatter parses the top-level "key: value" pairs of a leading
// "---" block, enough YAML for SKILL.md: quoted values, and folded (>) or
// literal (|) blocks joined into one line.
func frontMatter(text string) (map[string]string, string, bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != "---" {
		return nil, text, false
	}
	fm := map[string]string{}
	var key string // the key whose block value is being collected
	consumed := len(sc.Text()) + 1
	for sc.Scan() {
		line := sc.Text()
		consumed += len(line) + 1
		if strings.TrimSpace(line) == "---" {
			return fm, text[min(consumed, len(text)):], true
		}
		if key != "" && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") || strings.TrimSpace(line) == "") {
			fm[key] = strings.TrimSpace(fm[key] + " " + strings.TrimSpace(line))
			continue
		}
		key = ""
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "#") {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if strings.HasPrefix(v, ">") || strings.HasPrefix(v, "|") {
			key, v = k, ""
		}
		fm[k] = unquote(v)
	}
	return nil, text, false // no closing line: not front matter
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
