package anthropic

import (
	"testing"

	goanthropic "github.com/liushuangls/go-anthropic/v2"

	"picoclaw/provider/providertest"
)

// The signature Response cannot carry yet is captured all the same.
func TestSignatureCaptured(t *testing.T) {
	tests := []struct{ fixture, prefix, suffix string }{
		{"anthropic-stream-thinking.sse", "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...", ""},
		// OpenRouter starts the block with "signature":"" and sends it whole
		// in one signature_delta.
		{"anthropic-stream-thinking-tool-use-via-openrouter.sse", "EpMECmUIDxgCKkAMzSFb", "ICMLqz456kj3r1hqDCqMq04vHPFrPIttjY2RUIPSP4JhENa7emTkkGAE="},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			s := providertest.NewAnthropic()
			t.Cleanup(s.Close)
			s.ServeFixture("testdata/" + tt.fixture)
			client := goanthropic.NewClient("sk-ant-x", goanthropic.WithBaseURL(s.URL()))
			acc := &accumulator{}
			err := stream(t.Context(), client, goanthropic.MessagesStreamRequest{
				MessagesRequest:     goanthropic.MessagesRequest{Model: "m", MaxTokens: 10, Messages: []goanthropic.Message{goanthropic.NewUserTextMessage("hi")}},
				OnMessageStart:      acc.messageStart,
				OnContentBlockStart: acc.blockStart,
				OnContentBlockDelta: acc.blockDelta,
				OnMessageDelta:      acc.messageDelta,
				OnMessageStop:       acc.messageStop,
			})
			if err != nil {
				t.Fatal(err)
			}
			sig := acc.reasoningSignature()
			if len(sig) < len(tt.prefix)+len(tt.suffix) || sig[:len(tt.prefix)] != tt.prefix || sig[len(sig)-len(tt.suffix):] != tt.suffix {
				t.Errorf("signature = %q, want %q…%q", sig, tt.prefix, tt.suffix)
			}
		})
	}
}
