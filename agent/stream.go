package agent

import (
	"context"
	"slices"
	"strings"

	"picoclaw"
)

type streamSinkKey struct{}

// WithStreamSink returns ctx whose turn streams its answer to sink (nil:
// to nothing). The Dispatcher's Stream option sets it per turn.
func WithStreamSink(ctx context.Context, sink picoclaw.StreamSink) context.Context {
	return context.WithValue(ctx, streamSinkKey{}, sink)
}

func streamSinkFrom(ctx context.Context) picoclaw.StreamSink {
	s, _ := ctx.Value(streamSinkKey{}).(picoclaw.StreamSink)
	return s
}

// toolStatus is the status line of a tool round: the tools' names.
func toolStatus(calls []picoclaw.ToolCall) string {
	names := make([]string, 0, len(calls))
	for _, c := range calls {
		if !slices.Contains(names, c.Name) {
			names = append(names, c.Name)
		}
	}
	return "🔧 " + strings.Join(names, ", ")
}
