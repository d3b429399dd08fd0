package agent

import (
	"fmt"
	"strings"
	"testing"

	"picoclaw"
)

// BenchmarkPromptHistory500 is the per-turn prompt work on a 500-message
// history: the system prompt (workspace files cached), the token estimate
// that decides compaction, and the trimmed message prefix.
func BenchmarkPromptHistory500(b *testing.B) {
	dir := b.TempDir()
	writeFiles(b, dir, map[string]string{
		"AGENTS.md":        strings.Repeat("Be helpful. ", 200),
		"SOUL.md":          strings.Repeat("Warm and direct. ", 100),
		"memory/MEMORY.md": strings.Repeat("- likes tea\n", 300),
	})
	// A threshold above 500 makes needsCompaction estimate every message
	// rather than stop at the count.
	a, err := New(Config{Provider: answer("ok", ""), Sessions: newMemStore(), Send: (&outbox{}).send,
		Workspace: dir, SummarizeMessageThreshold: 1000, ContextWindow: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	history := make([]picoclaw.Message, 500)
	for i := range history {
		history[i] = picoclaw.Message{Role: picoclaw.RoleUser, Content: fmt.Sprintf("第 %d 个问题：今天杭州的天气怎么样？What should I wear?", i), Time: testNow}
		if i%2 == 1 {
			history[i] = picoclaw.Message{Role: picoclaw.RoleAssistant, Content: strings.Repeat("今天多云，气温 18 到 24 度。Bring a light jacket. ", 8), Time: testNow}
		}
	}
	in := picoclaw.Inbound{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"}, SenderName: "Li", Text: "再问一次"}
	user := picoclaw.Message{Role: picoclaw.RoleUser, Content: in.Text, Time: testNow}
	b.ReportAllocs()
	for b.Loop() {
		system, err := a.prompts.Build(testNow, in)
		if err != nil {
			b.Fatal(err)
		}
		if a.needsCompaction(history, system, user) {
			b.Fatal("compaction wanted")
		}
		if p := a.prefix(system, history); len(p) != DefaultMaxHistory+1 {
			b.Fatalf("prefix has %d messages", len(p))
		}
	}
}

// BenchmarkSystemPromptWithSkills is one turn's system prompt in a
// workspace with prompt files and three skills, unchanged since the last
// turn.
func BenchmarkSystemPromptWithSkills(b *testing.B) {
	dir := b.TempDir()
	files := map[string]string{
		"AGENTS.md":        strings.Repeat("Be helpful. ", 200),
		"SOUL.md":          strings.Repeat("Warm and direct. ", 100),
		"memory/MEMORY.md": strings.Repeat("- likes tea\n", 300),
	}
	for _, s := range []string{"weather", "notes", "translate"} {
		files["skills/"+s+"/SKILL.md"] = "---\nname: " + s + "\ndescription: What " + s + " does.\n---\n" + strings.Repeat("Steps. ", 100)
	}
	writeFiles(b, dir, files)
	pb := NewPromptBuilder(dir)
	in := picoclaw.Inbound{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"}, SenderName: "Li", Text: "hi"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pb.Build(testNow, in); err != nil {
			b.Fatal(err)
		}
	}
}
