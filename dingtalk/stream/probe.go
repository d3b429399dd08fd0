package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// ProbeResult is what one Probe saw.
type ProbeResult struct {
	// BotMessages counts the robot-message frames that arrived while
	// listening; Frames counts every frame (pings included).
	BotMessages, Frames int
}

// Probe checks the connection once, for a setup check such as `picoclaw
// doctor`: it opens a connection (connections/open), dials its socket,
// reads frames for listen (zero: none), and closes the socket normally.
// It returns an error wrapping picoclaw.ErrAuth when DingTalk refused the
// credentials, and the open or dial failure otherwise; it never retries.
//
// Probe acks nothing: a robot message that reaches the probe's socket is
// left for DingTalk to push again, to a gateway's connection, rather than
// being accepted by a process that will not answer it. The Handler is not
// called.
func (s *Client) Probe(ctx context.Context, listen time.Duration) (ProbeResult, error) {
	var res ProbeResult
	c, err := s.connect(ctx)
	if err != nil {
		return res, err
	}
	defer func() { _ = c.ws.Close(websocket.StatusNormalClosure, "probe done") }()
	if listen <= 0 {
		return res, nil
	}
	lctx, cancel := context.WithTimeout(ctx, listen)
	defer cancel()
	for {
		typ, data, err := c.ws.Read(lctx)
		if err != nil {
			if lctx.Err() != nil {
				return res, nil // listened long enough
			}
			return res, fmt.Errorf("dingtalk: stream probe: read: %w", err)
		}
		res.Frames++
		var f Frame
		if typ == websocket.MessageText && json.Unmarshal(data, &f) == nil && f.Type == TypeCallback && f.Topic() == TopicBotMessage {
			res.BotMessages++
		}
	}
}
