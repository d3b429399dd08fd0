package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// findBrowser returns the path of a Chromium or Chrome, or "".
func findBrowser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser starts a headless Chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := findBrowser()
	if path == "" {
		t.Skip("no Chromium or Chrome found on PATH (chromium, chromium-browser, google-chrome): install one (apt-get install chromium) to run the browser test of `picoclaw sim`")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1400, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser, which lives as long as ctx: no
	// timeout on it (chromedp.Run's rule); later steps get their own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// do runs steps with the sim's generous wait, failing the test with what
// was being done.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, simWait)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that reads a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, simWait)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// botBubbles counts the bot's bubbles in the open chat whose text
// contains sub ("" counts them all).
func botBubbles(sub string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#messages .msg[data-from="bot"]')].filter(e => e.textContent.includes(%s)).length`, strconv.Quote(sub))
}

// waitBubble waits until the open chat shows a bot bubble containing sub.
func waitBubble(sub string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](botBubbles(sub)+" > 0",
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(simWait))
}

// openChat clicks a chat in the list.
func openChat(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(fmt.Sprintf(`#chats li[data-chat=%q]`, id)))
}

// say types text in the composer and sends it.
func say(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS("#text"), text),
		chromedp.Click(chromedp.CSS("#send")),
	)
}

// The sim's page in headless Chromium: what a newcomer does first.
func TestSimBrowser(t *testing.T) {
	ctx := browser(t)
	h := startSim(t)
	zhang, alice := h.user("张三"), h.user("Alice")
	dm, aliceDM, group := h.chat("张三").ID, h.chat("Alice").ID, h.chat("产品讨论组").ID

	do(t, ctx, "open the page",
		chromedp.Navigate(h.url),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#conn:not(.off)`)),
	)
	if model := get(t, ctx, "read the header", chromedp.Text(chromedp.CSS("#model"))); model != "echo model: not an AI" {
		t.Errorf("header model = %q, want the echo model's label", model)
	}

	t.Run("private message answered", func(t *testing.T) {
		do(t, ctx, "send in 张三's chat", openChat(dm), chromedp.SetValue(chromedp.CSS("#from"), zhang),
			say("hello from the browser"), waitBubble("echo: hello from the browser"))
	})

	t.Run("group: @mention answered, no mention ignored", func(t *testing.T) {
		do(t, ctx, "send in the group", openChat(group), chromedp.SetValue(chromedp.CSS("#from"), alice),
			say("chatting among ourselves"),
			chromedp.Click(chromedp.CSS("#at-btn")),
			chromedp.Click(chromedp.CSS(`#at-picker [data-at="bot"]`)),
			say("what is new?"),
			waitBubble("echo: what is new?"))
		if n := get(t, ctx, "count the bot's bubbles", chromedp.Evaluate[int](botBubbles(""))); n != 1 {
			t.Errorf("the group shows %d bot messages; want 1, the answer to the @mention", n)
		}
	})

	t.Run("long answer in several bubbles", func(t *testing.T) {
		do(t, ctx, "ask for a long answer", openChat(aliceDM), say("/long 5"), waitBubble("End of /long 5"))
		if n := get(t, ctx, "count the parts", chromedp.Evaluate[int](botBubbles("Paragraph"))); n < 2 {
			t.Errorf("the long answer shows in %d bubble(s); want several", n)
		}
	})

	t.Run("markdown rendered as DingTalk does", func(t *testing.T) {
		do(t, ctx, "ask for the markdown sample", openChat(dm), say("/md"), waitBubble("Heading 1"))
		html := get(t, ctx, "read the answer", chromedp.Evaluate[string](
			`[...document.querySelectorAll('#messages .msg[data-from="bot"] .content')].pop().innerHTML`))
		for _, want := range []string{"<h1>", "<strong>Bold</strong>", "<em>italic</em>", `<a href="https://open.dingtalk.com"`,
			"<ul>", "<ol>", "<blockquote>", "<pre><code>", "<code>code</code>", "a table"} {
			if !strings.Contains(html, want) {
				t.Errorf("rendered answer lacks %q:\n%s", want, html)
			}
		}
		if strings.Contains(html, "<table") {
			t.Error("a table was rendered as a table; DingTalk cannot show one")
		}
	})

	t.Run("picture sent with the paperclip", func(t *testing.T) {
		pic := filepath.Join(t.TempDir(), "dot.png")
		var b bytes.Buffer
		_ = png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4)))
		if err := os.WriteFile(pic, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "send a picture", openChat(dm),
			chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{pic}, chromedp.NodeReady),
			chromedp.WaitVisible(chromedp.CSS(`#messages .msg.me img[src^="/media/u/"]`)),
			waitBubble("1 picture(s) received"))
	})

	t.Run("dropped connection and recovery in the side log", func(t *testing.T) {
		do(t, ctx, "drop the Stream connection",
			chromedp.Click(chromedp.CSS("#fault-drop")),
			chromedp.Poll[chromedp.Void](`document.querySelector('#log').textContent.includes('Stream socket #2 connected')`,
				chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(simWait)),
			chromedp.WaitVisible(chromedp.CSS(`#conn:not(.off)`)),
			say("back again?"), waitBubble("echo: back again?"))
	})

	// Screenshots of a private chat (markdown, the long answer) and the
	// group (the @ rule), for a person to look at.
	for name, chat := range map[string]string{"sim-private.png": dm, "sim-group.png": group} {
		do(t, ctx, "open the chat for "+name, openChat(chat))
		shot := get(t, ctx, "screenshot", chromedp.FullScreenshot(100))
		out := filepath.Join(t.ArtifactDir(), name)
		if err := os.WriteFile(out, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", out)
	}
}
