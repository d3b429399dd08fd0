package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// Placeholders of a --compare-config template, replaced by the run's
// values; JSON-quoted where they stand in a string.
var placeholderDoc = []string{
	"{{client_id}}, {{client_secret}}: the fake DingTalk app's credentials",
	"{{api_base}}: the DingTalk API base (https://api.dingtalk.com over TLS)",
	"{{model_base}}: the fake OpenAI-compatible model's base URL (…/v1)",
	"{{model_key}}: its API key",
	"{{home}}: the gateway's own directory (also $HOME and $PICOCLAW_HOME)",
	"{{workspace}}: {{home}}/workspace",
	"{{port}}: a free port for its health/HTTP server",
	"{{config}} (in --compare-args): the config file written from the template",
}

// otherSubject prepares the binary named by --compare: its config from
// the template, its environment and its command line.
func (h *harness) otherSubject() (*subject, error) {
	name := h.opts.compareName
	if name == "" {
		name = filepath.Base(h.opts.compare)
	}
	if name == h.ours.name {
		name += "-other"
	}
	s, err := h.newSubject(name, h.opts.compare)
	if err != nil {
		return nil, err
	}
	if _, err := binarySize(s.binary); err != nil {
		return nil, fmt.Errorf("bench: --compare: %w", err)
	}
	tmpl, err := os.ReadFile(h.opts.compareConfig)
	if err != nil {
		return nil, fmt.Errorf("bench: --compare-config: %w", err)
	}
	r := strings.NewReplacer(
		"{{client_id}}", h.dt.ClientID,
		"{{client_secret}}", h.dt.ClientSecret,
		"{{api_base}}", h.dt.URL(),
		"{{model_base}}", h.llm.URL(),
		"{{model_key}}", benchModelKey,
		"{{home}}", s.dir,
		"{{workspace}}", filepath.Join(s.dir, "workspace"),
		"{{port}}", fmt.Sprint(s.port),
		"{{config}}", s.cfgPath,
	)
	if err := os.WriteFile(s.cfgPath, []byte(r.Replace(string(tmpl))), 0o600); err != nil {
		return nil, fmt.Errorf("bench: write config of %s: %w", name, err)
	}
	for _, a := range strings.Fields(h.opts.compareArgs) {
		s.args = append(s.args, r.Replace(a))
	}
	s.sigtermExitOK = true
	s.env = []string{"HOME=" + s.dir, "PICOCLAW_HOME=" + s.dir, "PICOCLAW_CONFIG=" + s.cfgPath}
	return s, nil
}

// writeCompareTable prints both gateways' figures side by side with the
// ratio picoclaw ÷ other where both are numbers; targets and results are
// picoclaw's.
func writeCompareTable(w io.Writer, ours, other []row, otherName string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\tpicoclaw\t%s\tpicoclaw ÷ %s\ttarget\tresult\n", otherName, otherName)
	fmt.Fprintln(tw, "------\t--------\t-----\t-----\t------\t------")
	byFigure := map[string]row{}
	for _, r := range other {
		byFigure[r.Figure] = r
	}
	for _, r := range ours {
		o, ok := byFigure[r.Figure]
		ratio, val := "", "—"
		if ok {
			val = o.Value
			if r.Num > 0 && o.Num > 0 {
				ratio = fmt.Sprintf("%.2f", r.Num/o.Num)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Figure, r.Value, val, ratio, r.Target, r.Status)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write table: %w", err)
	}
	return nil
}
