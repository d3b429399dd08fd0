package sim

import (
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"heading", "## Plan", "<h2>Plan</h2>"},
		{"bold and italic", "**a** and *b*", "<p><strong>a</strong> and <em>b</em></p>"},
		{"link", "[DingTalk](https://dingtalk.com/x?a=1&b=2)", `<p><a href="https://dingtalk.com/x?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">DingTalk</a></p>`},
		{"image", "![pic](https://x.test/a.png)", `<p><img alt="pic" src="https://x.test/a.png"></p>`},
		{"lists", "- a\n- b\n\n1. c\n2. d", "<ul><li>a</li><li>b</li></ul><ol><li>c</li><li>d</li></ol>"},
		{"quote", "> one\n> two", "<blockquote>one<br>two</blockquote>"},
		{"code", "use `x*y*z` here\n\n```\n**not bold** <b>\n```", "<p>use <code>x*y*z</code> here</p><pre><code>**not bold** &lt;b&gt;</code></pre>"},
		{"lines kept", "one\ntwo", "<p>one<br>two</p>"},
		{"table stays text", "| a | b |\n| - | - |", "<p>| a | b |<br>| - | - |</p>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Markdown(tc.in); got != tc.want {
				t.Errorf("Markdown(%q)\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

// Answers echo what users type: nothing in them may become markup or
// script on the page.
func TestMarkdownEscapes(t *testing.T) {
	for _, in := range []string{
		`<script>alert(1)</script>`,
		`<img src=x onerror=alert(1)>`,
		`[x](javascript:alert(1))`,
		`![x](data:text/html,<script>alert(1)</script>)`,
		`[x](https://a.test/" onmouseover="alert(1))`,
		"# <b>h</b>\n> <i>q</i>\n- <u>l</u>",
	} {
		got := Markdown(in)
		for _, bad := range []string{"<script", "<img src=x", "javascript:alert(1)\"", `href="data:`, `src="data:`, `" onmouseover`, "<b>", "<i>", "<u>"} {
			if strings.Contains(got, bad) {
				t.Errorf("Markdown(%q) = %s: contains %q", in, got, bad)
			}
		}
	}
	if got := plainHTML("<b>x</b>\ny"); got != "&lt;b&gt;x&lt;/b&gt;<br>y" {
		t.Errorf("plainHTML = %q", got)
	}
}
