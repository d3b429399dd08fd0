package dingtalk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// benchFixture reads a fixture file for a benchmark.
func benchFixture(b *testing.B, path ...string) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(path...))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkAcceptGroupMessage is the channel's work to accept a group
// message: parse the data, check allow_from, strip mentions, trigger.
func BenchmarkAcceptGroupMessage(b *testing.B) {
	data := benchFixture(b, "testdata", "bot-text-group-at-logged.json")
	p := policy{AllowFrom: []string{"dingtalk:0999", "0888", "0123456789012345"}, MentionOnly: true}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := parseBotMessage(data)
		if err != nil {
			b.Fatal(err)
		}
		if !p.Allowed(m) {
			b.Fatal("sender refused")
		}
		if text, ok := p.Trigger(m, stripLeadingMentions(m.PlainText())); !ok || text == "" {
			b.Fatalf("Trigger = %q, %v", text, ok)
		}
	}
}

// BenchmarkSplitAnswer45k splits a long answer (45,000 characters of
// mixed Chinese, English and code) into webhook-sized parts.
func BenchmarkSplitAnswer45k(b *testing.B) {
	text := longAnswer(45000)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if parts := split(text, maxReplyBytes); len(parts) < 2 {
			b.Fatalf("%d parts", len(parts))
		}
	}
}

// longAnswer builds a markdown answer of exactly n characters.
func longAnswer(n int) string {
	block := "## 第一步：准备环境\n\n首先安装 Go 1.26，然后运行下面的命令。This step takes a minute or two.\n\n" +
		"```bash\ngo install picoclaw/cmd/picoclaw@latest\npicoclaw gateway --config ~/.picoclaw/config.json\n```\n\n" +
		"- 检查配置文件中的 client_id 和 client_secret\n- Make sure the bot is enabled for Stream Mode\n\n"
	r := []rune(strings.Repeat(block, n/utf8.RuneCountInString(block)+1))
	return string(r[:n])
}
