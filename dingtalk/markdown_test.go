package dingtalk

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"picoclaw/dingtalk/dingtalktest"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/markdown/*.golden")

// Realistic model answers, shaped for DingTalk: testdata/markdown/*.md in,
// *.golden out (run with -update to rewrite them, then read the diff).
func TestShapeMarkdownGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "markdown", "*.md"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := ShapeMarkdown(string(src))
			golden := strings.TrimSuffix(in, ".md") + ".golden"
			if *updateGolden {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("shaped %s:\n%s\nwant:\n%s", in, got, want)
			}
			if again := ShapeMarkdown(got); again != got {
				t.Errorf("shaping is not stable: a second pass gives\n%s", again)
			}
		})
	}
}

func TestShapeMarkdownLeavesPlainText(t *testing.T) {
	for _, s := range []string{"", "hello", "a **bold** word and `code`", "line one\n\nline two", "| not a table"} {
		if got := ShapeMarkdown(s); got != s {
			t.Errorf("ShapeMarkdown(%q) = %q, want it unchanged", s, got)
		}
	}
}

func FuzzShapeMarkdown(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "markdown", "*.md"))
	for _, in := range inputs {
		if src, err := os.ReadFile(in); err == nil {
			f.Add(string(src))
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ShapeMarkdown(s)
		if len(got) > 4*len(s)+64 {
			t.Fatalf("shaping grew %d bytes to %d", len(s), len(got))
		}
	})
}

// End to end: an answer with a table reaches the chat as a list the
// DingTalk client renders, not as raw pipes.
func TestChannelSendsShapedMarkdown(t *testing.T) {
	srv := newFake(t)
	lc := startChannel(t, srv, nil)
	in := lc.push(t, dingtalktest.BotMessage{Text: "compare them"})
	answer := "#### Result\n\n| Router | Notes |\n|---|---|\n| [chi](https://github.com/go-chi/chi) | idiomatic |\n\n![chart](https://example.com/c.png)"
	if err := lc.reply(t, in, answer); err != nil {
		t.Fatal(err)
	}
	replies, err := srv.WaitReplies(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := "**Result**\n\n- **[chi](https://github.com/go-chi/chi)** — Notes: idiomatic\n\n[🖼 chart](https://example.com/c.png)"
	if got := replies[0].Text; got != want {
		t.Errorf("delivered\n%s\nwant\n%s", got, want)
	}
}

// BenchmarkShapeMarkdown shapes a long realistic answer (the golden
// inputs repeated to ~18 KB, one message part).
func BenchmarkShapeMarkdown(b *testing.B) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "markdown", "*.md"))
	var sb strings.Builder
	for sb.Len() < 18000 {
		for _, in := range inputs {
			src, _ := os.ReadFile(in)
			sb.Write(src)
			sb.WriteString("\n\n")
		}
	}
	s := sb.String()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		ShapeMarkdown(s)
	}
}

// TestShapeMarkdownTableCannotBlowUp: a hostile answer (the model may be
// prompt-injected) with a long header repeated on every row, or one row
// thousands of cells wide, must not make shaping quadratic: the table is
// kept as written instead.
func TestShapeMarkdownTableCannotBlowUp(t *testing.T) {
	wide := "| a |\n|---|\n|" + strings.Repeat("x|", 5000) + "\n" + strings.Repeat("| y |\n", 5000)
	header := "| k | " + strings.Repeat("H", 4000) + " |\n|---|---|\n" + strings.Repeat("| k | v |\n", 4000)
	for name, s := range map[string]string{"wide row": wide, "long header": header} {
		if got := ShapeMarkdown(s); len(got) > 3*len(s)+64 {
			t.Errorf("%s: %d bytes shaped into %d", name, len(s), len(got))
		}
	}
}
