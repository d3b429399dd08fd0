package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"golang.org/x/term"

	"picoclaw/config"
	"picoclaw/dingtalk/openapi"
	"picoclaw/internal/fsutil"
)

// dingTalkSteps walks the DingTalk developer console, in the console's own
// words (Chinese, with the English of its English UI), up to the two
// values onboard --dingtalk asks for.
const dingTalkSteps = `Connect picoclaw to DingTalk. You need an admin of your DingTalk organisation
(or a developer the admin named) and about five minutes:

 1. Open https://open-dev.dingtalk.com and sign in.
 2. 应用开发 (App Development) → 企业内部应用 (Internal apps) → 创建应用 (Create app):
    give it a name, a description and an icon.
 3. In the app: 添加应用能力 (Add capability) → 机器人 (Robot) → 添加 (Add); fill in the
    robot's name and description.
 4. In the robot's settings set 消息接收模式 (Message receiving mode) to Stream 模式 (Stream
    mode) and save. Stream mode needs no public IP or callback URL: picoclaw connects out.
 5. 权限管理 (Permissions): grant 企业内机器人发送消息权限 (qyapi_robot_sendmsg), used for
    answers after a message's reply link expired and for reminders; for AI cards
    (card_template_id) also %s and %s.
 6. 版本管理与发布 (Version management and release): create a version, choose who may use
    the bot (可见范围, visible range), and publish it.
 7. 凭证与基础信息 (Credentials & Basic Info): copy the Client ID (原 AppKey) and the Client
    Secret (原 AppSecret), and paste them below.

`

// Shapes of the two credentials: DingTalk's are letters and digits
// ("ding…" Client IDs, 64-character secrets); the ranges are wide so that
// an unusual app still passes, and narrow enough to catch a pasted
// sentence, a URL or a half copy.
const (
	clientIDShape     = `^[A-Za-z0-9_-]{6,64}$`
	clientSecretShape = `^[A-Za-z0-9_+/=-]{16,128}$`
)

// onboardDingTalk prints the console steps, asks for the Client ID and
// Secret, and writes them into the config at path (created first, as
// plain onboard does, when missing).
func (e *env) onboardDingTalk(ctx context.Context, stdin io.Reader, path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := e.onboardFresh(path, false); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout)
	} else if err != nil {
		return fmt.Errorf("onboard --dingtalk: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("onboard --dingtalk: read config: %w", err)
	}
	doc, err := parseJSONObject(data)
	if err != nil {
		return fmt.Errorf("onboard --dingtalk: %s is not a JSON object (fix or move it, then run again): %w", path, err)
	}
	fmt.Fprintf(e.stdout, dingTalkSteps, openapi.CardInstanceScope, openapi.CardStreamingScope)

	tty := terminalOf(stdin)
	r := bufio.NewReader(stdin)
	id, err := e.askCredential(ctx, r, tty, "Client ID (AppKey): ", false, checkClientID)
	if err != nil {
		return err
	}
	secret, err := e.askCredential(ctx, r, tty, "Client Secret (AppSecret, not shown): ", true, func(s string) error {
		if s == id {
			return errors.New("Client Secret: this is the Client ID again; copy the Client Secret (AppSecret) below it")
		}
		return checkClientSecret(s)
	})
	if err != nil {
		return err
	}

	section := setDingTalkCredentials(doc, id, secret)
	out, err := marshalConfig(doc)
	if err != nil {
		return fmt.Errorf("onboard --dingtalk: encode config: %w", err)
	}
	if err := fsutil.WriteFileAtomic(path, out, 0o600); err != nil && !errors.Is(err, fsutil.ErrDirSync) {
		return fmt.Errorf("onboard --dingtalk: write %s: %w", path, err)
	}
	fmt.Fprintf(e.stdout, "\nwrote the Client ID and Client Secret to %s in %s (mode 0600)\n", section, path)
	for _, key := range []string{"client_id", "client_secret"} {
		if v := config.EnvName(section + "." + key); e.getenv(v) != "" {
			fmt.Fprintf(e.stdout, "note: %s is set in the environment and wins over the file\n", v)
		}
	}
	fmt.Fprintf(e.stdout, "Next: put your model's API key into model_list in %s if it is not there yet, then run %s to check everything with DingTalk and the model.\n",
		path, e.hint("doctor"))
	return nil
}

// terminalOf returns the terminal stdin is, or nil when it is a pipe or
// a file: at a terminal the secret is read without echo and a bad answer
// is asked again; piped answers are read as plain lines.
func terminalOf(stdin io.Reader) *os.File {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return f
	}
	return nil
}

// askCredential prompts for one value until it has the expected shape
// (three tries at a terminal; piped input gets one).
func (e *env) askCredential(ctx context.Context, r *bufio.Reader, tty *os.File, prompt string, hidden bool, check func(string) error) (string, error) {
	interactive := tty != nil
	tries := 1
	if interactive {
		tries = 3
	}
	var err error
	for range tries {
		fmt.Fprint(e.stdout, prompt)
		var v string
		if hidden && interactive {
			v, err = readHidden(ctx, tty)
			fmt.Fprintln(e.stdout) // the user's Enter was not echoed
		} else {
			v, err = readLine(r)
			if !interactive {
				fmt.Fprintln(e.stdout) // piped answers are not echoed either
			}
		}
		if err != nil {
			return "", fmt.Errorf("onboard --dingtalk: %s%w", prompt, err)
		}
		if err = check(strings.TrimSpace(v)); err == nil {
			return strings.TrimSpace(v), nil
		}
		if interactive {
			fmt.Fprintln(e.stdout, err)
		}
	}
	return "", fmt.Errorf("onboard --dingtalk: %w", err)
}

// readLine reads one line; a last line without a newline counts.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if errors.Is(err, io.EOF) && line != "" {
		err = nil
	}
	if errors.Is(err, io.EOF) {
		return "", errors.New("no answer: the input ended")
	}
	return strings.TrimRight(line, "\r\n"), err
}

// readHidden reads a line from the terminal without echo. Ctrl-C (the
// context ending) restores the echo before returning, so the shell is
// never left without it.
func readHidden(ctx context.Context, tty *os.File) (string, error) {
	fd := int(tty.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("read the terminal state: %w", err)
	}
	type answer struct {
		b   []byte
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		ch <- answer{b, err}
	}()
	select {
	case a := <-ch:
		return string(a.b), a.err
	case <-ctx.Done():
		_ = term.Restore(fd, state)
		return "", ctx.Err()
	}
}

func checkClientID(s string) error {
	switch {
	case s == "":
		return errors.New("Client ID: empty; paste the Client ID (AppKey) from Credentials & Basic Info")
	case config.IsPlaceholder(s):
		return fmt.Errorf("Client ID: %q is the example placeholder; paste your app's Client ID (AppKey)", s)
	case !regexp.MustCompile(clientIDShape).MatchString(s):
		return fmt.Errorf("Client ID: expected the app's Client ID (AppKey, e.g. dingxxxxxxxxxxxxxxxx): 6 to 64 letters, digits, _ or -; got %d characters%s",
			len(s), spaceNote(s))
	}
	return nil
}

func checkClientSecret(s string) error {
	// The value is never quoted: only its length and what is wrong.
	switch {
	case s == "":
		return errors.New("Client Secret: empty; paste the Client Secret (AppSecret) from Credentials & Basic Info")
	case config.IsPlaceholder(s):
		return errors.New("Client Secret: that is the example placeholder; paste your app's Client Secret (AppSecret)")
	case !regexp.MustCompile(clientSecretShape).MatchString(s):
		return fmt.Errorf("Client Secret: expected the app's Client Secret (AppSecret): 16 to 128 letters, digits, _ - + / or =; got %d characters%s",
			len(s), spaceNote(s))
	}
	return nil
}

func spaceNote(s string) string {
	if strings.ContainsAny(s, " \t") {
		return " with spaces (copy the value alone)"
	}
	return ""
}

// setDingTalkCredentials writes id and secret where the config's
// generation reads them, enables that bot, and returns the section's
// path: version 3 configs read the first channel_list entry of type
// dingtalk (made if none) and its settings, older ones channels.dingtalk.
func setDingTalkCredentials(doc *jsonObject, id, secret string) string {
	var version int64
	if v, ok := doc.get("version"); ok {
		if n, ok := v.(json.Number); ok {
			version, _ = n.Int64()
		}
	}
	if version < config.CurrentVersion {
		dt := doc.object("channels").object("dingtalk")
		dt.set("enabled", true)
		dt.set("client_id", id)
		dt.set("client_secret", secret)
		return "channels.dingtalk"
	}
	list := doc.object("channel_list")
	name := ""
	for _, k := range list.keys {
		entry, ok := list.vals[k].(*jsonObject)
		if !ok {
			continue
		}
		typ, _ := entry.vals["type"].(string)
		if typ == config.ChannelTypeDingTalk || (typ == "" && k == config.ChannelTypeDingTalk) {
			name = k
			break
		}
	}
	if name == "" {
		name = config.ChannelTypeDingTalk
	}
	entry := list.object(name)
	entry.set("enabled", true)
	if _, ok := entry.get("type"); !ok {
		entry.set("type", config.ChannelTypeDingTalk)
	}
	settings := entry.object("settings")
	settings.set("client_id", id)
	settings.set("client_secret", secret)
	return "channel_list." + name + ".settings"
}
