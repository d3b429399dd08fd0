package workspace

import (
	"path/filepath"
	"testing"
)

func TestSkillsSummary(t *testing.T) {
	dir := t.TempDir()
	skill := func(name, text string) { writeFile(t, filepath.Join(Skills(dir), name, "SKILL.md"), text) }
	skill("weather", "---\nname: weather\ndescription: Get current weather and forecasts.\nmetadata: {\"x\":1}\n---\n\n# Weather\nUse wttr.in.\n")
	skill("folded", "---\nname: pico-notes\ndescription: >\n  Keep meeting notes\n  in the workspace.\n---\nbody\n")
	skill("quoted", "---\r\ndescription: \"Translate: zh ↔ en\"\r\n---\r\n")
	skill("plain", "# Plain skill\n\nSummarise long DingTalk threads.\nMore text.\n")
	skill("unclosed", "---\nname: broken\n")
	writeFile(t, filepath.Join(Skills(dir), "empty", "README.md"), "no SKILL.md here")
	writeFile(t, filepath.Join(Skills(dir), ".hidden", "SKILL.md"), "---\nname: hidden\n---\n")
	writeFile(t, filepath.Join(Skills(dir), "file.md"), "not a directory")

	got, err := SkillsSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "- pico-notes: Keep meeting notes in the workspace. (skills/folded/SKILL.md)\n" +
		"- plain: Summarise long DingTalk threads. (skills/plain/SKILL.md)\n" +
		"- quoted: Translate: zh ↔ en (skills/quoted/SKILL.md)\n" +
		"- unclosed: name: broken (skills/unclosed/SKILL.md)\n" +
		"- weather: Get current weather and forecasts. (skills/weather/SKILL.md)"
	if got != want {
		t.Errorf("SkillsSummary =\n%s\nwant\n%s", got, want)
	}
}

func TestSkillsSummaryEmpty(t *testing.T) {
	tests := []struct {
		name  string
		setup func(dir string)
	}{
		{"no skills directory", func(string) {}},
		{"fresh workspace", func(dir string) { mustInit(t, dir, false) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(dir)
			got, err := SkillsSummary(dir)
			if got != "" || err != nil {
				t.Errorf("SkillsSummary = %q, %v; want empty", got, err)
			}
		})
	}
}
