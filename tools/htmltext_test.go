package tools

import (
	"net/url"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHTMLToTextPage(t *testing.T) {
	b, err := os.ReadFile("testdata/page.html")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("http://h.test/a/b")
	title, text := htmlToText(string(b), base)
	if want := "Release notes & more"; title != want {
		t.Errorf("title = %q, want %q", title, want)
	}
	want := "# Release notes\n\nVersion 1.2 is out. It fixes three bugs.\n\n## Changes\n\n" +
		"- Faster start\n- See [the install guide](http://h.test/docs/install?x=1&y=2) for details.\n- Back to top\n\n" +
		"line 1\n  line 2\n\nContact: [us](https://example.org/contact)\nThanks.\n\n© 2025 Example <Co>"
	if text != want {
		t.Errorf("text =\n%s\nwant\n%s", text, want)
	}
}

func TestHTMLToTextEdgeCases(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unclosed head", "<html><head><title>T</title><body><p>Hi</p>", "Hi"},
		{"nested nav", "<nav><nav>a</nav>b</nav><p>kept</p>", "kept"},
		{"script with end tag in string", `<script>x="</scr"+"ipt>"</script>after`, "after"},
		{"uppercase tags", "<P>One</P><SCRIPT>bad()</SCRIPT><P>Two</P>", "One\n\nTwo"},
		{"stray less-than", "a < b and c<3", "a < b and c<3"},
		{"unquoted and valueless attributes", `<a href=/x disabled>go</a>`, "[go](http://h.test/x)"},
		{"javascript link", `<a href="javascript:void(0)">click</a>`, "click"},
		{"inline spacing", "<p>a<b>b</b> <i>c</i>\n d</p>", "ab c d"},
		{"table cells", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
		{"truncated tag", "<p>text<a href=\"x", "text"},
		{"entities", "&lt;tag&gt; &amp;&nbsp;&#20013;&#x6587;", "<tag> & 中文"}, // nbsp collapses like a space,
	}
	base, _ := url.Parse("http://h.test/")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := htmlToText(tc.in, base); got != tc.want {
				t.Fatalf("htmlToText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzHTMLToText feeds hostile and broken markup to the text extraction
// web_fetch and web_search use, and to the search results parser: they
// must never panic or hang, and what they return must keep the shape the
// model is promised.
func FuzzHTMLToText(f *testing.F) {
	for _, name := range []string{"testdata/page.html", "testdata/duckduckgo.html"} {
		page, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(page))
	}
	f.Add(strings.Repeat("<div><a href=x>", 2000) + "deep")
	for _, seed := range []string{
		"<html><head><title>T</title><body><p>Hi</p>",
		`<script>x="</scr"+"ipt>"</script>after`,
		"<script/>hidden</script>shown",
		"<p>text<a href=\"x",
		"<a href='//h.test/%zz'>bad escape</a>",
		"<pre>  a\n\tb</pre><pre><pre>nested</pre>",
		"<nav><nav><nav>",
		"</a></a><a><a href=#x>y</a>",
		"&#0;&#xD800;&amp&lt;&unknown; \x00 \xff",
		"<svg><style><img src=x onerror=alert(1)></style></svg>",
		"<plaintext><p>not a tag</p>",
		"<!-- <p>comment</p> --><!DOCTYPE html><![CDATA[x]]>",
	} {
		f.Add(seed)
	}
	base, _ := url.Parse("http://h.test/a/")
	f.Fuzz(func(t *testing.T, doc string) {
		title, text := htmlToText(doc, base)
		if strings.Contains(title, "\n") {
			t.Errorf("title %q holds a line break", title)
		}
		if strings.TrimSpace(text) != text {
			t.Errorf("text %q is not trimmed", text)
		}
		if strings.Contains(text, "\n\n\n") {
			t.Errorf("text %q holds more than one blank line in a row", text)
		}
		if utf8.ValidString(doc) && !utf8.ValidString(text+title) {
			t.Errorf("valid UTF-8 in, invalid out: %q %q", title, text)
		}
		if got := parseDuckDuckGo(doc, 3); len(got) > 3 {
			t.Errorf("parseDuckDuckGo returned %d results, want at most 3", len(got))
		}
	})
}
