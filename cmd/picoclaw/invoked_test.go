package main

import (
	"github.com/spf13/cobra"

	"strings"
	"testing"
)

func TestInvokedAs(t *testing.T) {
	for argv0, want := range map[string]string{
		"/tmp/go-build123456/b001/exe/picoclaw":                    "go run ./cmd/picoclaw",
		`C:\Users\me\AppData\Local\Temp\go-build99\b001\exe\x.exe`: "go run ./cmd/picoclaw",
		"picoclaw":             "picoclaw",
		"./picoclaw":           "./picoclaw",
		"/usr/local/bin/pclaw": "/usr/local/bin/pclaw",
		"":                     "picoclaw",
	} {
		if got := invokedAs(argv0); got != want && !(strings.Contains(argv0, `\`) && got == argv0) {
			t.Errorf("invokedAs(%q) = %q, want %q", argv0, got, want)
		}
	}
}

// A user who followed the README's `go run ./cmd/picoclaw` is told to
// run `go run ./cmd/picoclaw …`, not a `picoclaw` they do not have.
func TestHintsNameTheCommandRun(t *testing.T) {
	for argv0, want := range map[string]string{
		"/tmp/go-build42/b001/exe/picoclaw": "`go run ./cmd/picoclaw ",
		"./bin/picoclaw":                    "`./bin/picoclaw ",
	} {
		home := t.TempDir()
		getenv := func(k string) string { return map[string]string{"HOME": home}[k] }
		run := func(args ...string) (int, string) {
			e := &env{getenv: getenv, argv0: argv0}
			code, out, errOut := runEnv(t, e, "", args...)
			return code, out + errOut
		}
		if code, out := run("agent", "-m", "hi"); code == 0 || !strings.Contains(out, "file is missing (run "+want+"onboard`") {
			t.Errorf("argv0 %s: missing config: exit %d, %q; want a hint with %sonboard`", argv0, code, out, want)
		}
		if code, out := run("status"); code == 0 || !strings.Contains(out, want+"onboard`") {
			t.Errorf("argv0 %s: status: exit %d, %q", argv0, code, out)
		}
		if code, out := run("onboard", "--force"); code != 0 || !strings.Contains(out, "then run "+want+"gateway`") {
			t.Errorf("argv0 %s: onboard's next step: exit %d, %q", argv0, code, out)
		}
	}
}

// Every command's help shows examples that name the command the user
// ran; gateway's says where credentials come from and the health port.
func TestEveryCommandHasExamples(t *testing.T) {
	e := &env{getenv: func(string) string { return "" }, argv0: "/tmp/go-build1/b001/exe/picoclaw"}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if !strings.Contains(c.Example, "go run ./cmd/picoclaw ") {
			t.Errorf("%q help has no examples with the command run: %q", c.CommandPath(), c.Example)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(e.rootCommand())

	_, out, _ := runCLI(t, nil, "", "gateway", "--help")
	for _, want := range []string{"client_secret", "PICOCLAW_", "model_list[i]", "/health", "18790"} {
		if !strings.Contains(out, want) {
			t.Errorf("gateway --help lacks %q:\n%s", want, out)
		}
	}
}
