package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"picoclaw/config"
)

// statusProbeTimeout bounds asking a running gateway for its bots' states:
// `status` must answer at once whether a gateway runs or not.
const statusProbeTimeout = 2 * time.Second

// liveBots asks the gateway at gateway.host:port for its bots (its
// /health), by bot name; ok is false when no gateway answers there.
func liveBots(ctx context.Context, cfg *config.Config) (map[string]botStatus, bool) {
	ctx, cancel := context.WithTimeout(ctx, statusProbeTimeout)
	defer cancel()
	url := "http://" + net.JoinHostPort(cfg.Gateway.Host, strconv.Itoa(cfg.Gateway.Port)) + "/health"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	var body struct {
		Bots []botStatus `json:"bots"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body) != nil {
		return nil, false
	}
	out := make(map[string]botStatus, len(body.Bots))
	for _, b := range body.Bots {
		out[b.Name] = b
	}
	return out, true
}

// printBots writes one line per DingTalk bot of the config: its name,
// channel (the first word of its session keys), connection state and last
// message as the running gateway reports them, and its settings without
// secrets.
func printBots(ctx context.Context, w io.Writer, cfg *config.Config, now time.Time) {
	live, running := liveBots(ctx, cfg)
	note := "no gateway answers at " + net.JoinHostPort(cfg.Gateway.Host, strconv.Itoa(cfg.Gateway.Port))
	if running {
		note = "as the running gateway reports them"
	}
	fmt.Fprintf(w, "bots:      %d (%s)\n", len(cfg.DingTalkBots), note)
	for _, b := range cfg.DingTalkBots {
		state, last := "disabled", ""
		if b.Enabled {
			state = "not running"
			if s, ok := live[b.Name]; ok {
				state = s.State
				last = ", last message never"
				if s.LastMessage != nil {
					last = fmt.Sprintf(", last message %s (%s ago)", s.LastMessage.Local().Format(time.DateTime), now.Sub(*s.LastMessage).Round(time.Second))
				}
			}
		}
		model := b.ModelName
		if model == "" {
			model = cfg.Agents.Defaults.ModelName
		}
		ws := ""
		if b.Workspace != "" {
			ws = ", workspace " + b.Workspace
		}
		fmt.Fprintf(w, "  %s: %s%s; channel %s, client_id %s, client_secret %s, allow_from %s, model %s%s\n",
			b.Name, state, last, cfg.ChannelName(b), setOrNot(b.ClientID != ""), setOrNot(b.ClientSecret != ""), allowDesc(b.DingTalkConfig), model, ws)
	}
}
