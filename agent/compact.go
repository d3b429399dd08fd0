package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"picoclaw/internal/text"

	"picoclaw"
)

// Compaction defaults; the names follow PicoClaw's configuration.
const (
	DefaultContextWindow             = 128000 // tokens
	DefaultSummarizeMessageThreshold = 40     // messages
	DefaultSummarizeTokenPercent     = 75     // of ContextWindow
)

const (
	// keepRecent messages stay verbatim when history is compacted.
	keepRecent = 10
	// keepRecentForced is used after the provider said the request was
	// too long: keep little more than the last exchange.
	keepRecentForced = 2
	// maxTranscriptMessage bounds what one old message adds to the
	// summary request (long tool output is rarely worth summarising).
	maxTranscriptMessage = 2000 // runes
)

// summaryHeading starts the stored summary message.
const summaryHeading = "## Summary of the earlier conversation\n\n"

const summarizePrompt = "You compress chat histories. Summarise the conversation below for the assistant " +
	"that will continue it: the user's goals and preferences, facts and decisions established, results of tool " +
	"calls that still matter, and open questions or tasks. Be concise, use bullet points, keep names, numbers, " +
	"paths and IDs exactly, and write in the language the user writes in. Output only the summary."

// Compactor is a SessionStore that can replace a history as a whole,
// atomically; compaction needs it (session.Store is one).
type Compactor interface {
	Replace(ctx context.Context, key picoclaw.SessionKey, msgs []picoclaw.Message) error
}

// errNothingToCompact: no user-message boundary leaves an older part.
var errNothingToCompact = errors.New("nothing to compact")

// estimateTokens guesses the tokens of texts without a tokenizer, from
// their UTF-8 length: bytes/3 for CJK-heavy text (a CJK character is three
// bytes and roughly one token), bytes/4 otherwise (about four Latin
// characters per token). It only has to decide when to compact, so being
// off by a quarter is fine.
func estimateTokens(texts ...string) int {
	total := 0
	for _, t := range texts {
		total += len(t) / bytesPerToken(t)
	}
	return total
}

// bytesPerToken is 3 when at least a third of t's characters are CJK.
// It runs over every history message on every turn, so ASCII bytes and
// runes below the CJK blocks are counted without a table lookup.
func bytesPerToken(t string) int {
	var cjk, all int
	for i := 0; i < len(t); {
		all++
		if t[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(t[i:])
		i += size
		if isCJK(r) {
			cjk++
		}
	}
	if all > 0 && cjk*3 >= all {
		return 3
	}
	return 4
}

// isCJK reports whether r is Han, kana, Hangul, or CJK or full-width
// punctuation.
func isCJK(r rune) bool {
	switch {
	case r < 0x1100: // below Hangul Jamo, the first of these blocks
		return false
	case r >= 0x4E00 && r <= 0x9FFF, // CJK Unified Ideographs
		r >= 0x3000 && r <= 0x303F, // CJK punctuation
		r >= 0xFF00 && r <= 0xFFEF: // full-width forms
		return true
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// messageTokens estimates a message, plus a few tokens of framing.
func messageTokens(m picoclaw.Message) int {
	n := 4 + estimateTokens(m.Content, m.Reasoning)
	for _, c := range m.ToolCalls {
		n += 4 + estimateTokens(c.Name, string(c.Arguments))
	}
	return n
}

// needsCompaction reports whether history has grown past the message
// threshold or, with the system prompt and the new message, past the
// token share of the context window.
func (a *Agent) needsCompaction(history []picoclaw.Message, system string, user picoclaw.Message) bool {
	if len(history) > a.cfg.SummarizeMessageThreshold {
		return true
	}
	tokens := estimateTokens(system) + messageTokens(user)
	for _, m := range history {
		tokens += messageTokens(m)
	}
	return tokens > a.cfg.ContextWindow*a.cfg.SummarizeTokenPercent/100
}

// splitPoint returns where the recent part of h starts: a user message,
// keeping at least keep messages if possible (else fewer), so that no tool
// call is parted from its result. 0 means nothing can be compacted.
func splitPoint(h []picoclaw.Message, keep int) int {
	start := len(h) - keep
	if start <= 0 {
		return 0
	}
	for i := start; i > 0; i-- {
		if h[i].Role == picoclaw.RoleUser {
			return i
		}
	}
	for i := start + 1; i < len(h); i++ {
		if h[i].Role == picoclaw.RoleUser {
			return i
		}
	}
	return 0
}

// compact asks the model (without tools) to summarise all but the last
// ~keep messages of history, then replaces key's stored history with the
// summary (a system message) and the recent messages. On any failure the
// stored history is left as it was. It returns the new history.
//
// The Dispatcher runs one turn per chat at a time, so no append can slip
// in between the Load the turn made and this Replace.
func (a *Agent) compact(ctx context.Context, key picoclaw.SessionKey, history []picoclaw.Message, keep int) ([]picoclaw.Message, error) {
	store, ok := a.cfg.Sessions.(Compactor)
	if !ok {
		return nil, errors.New("agent: compact: the session store cannot replace a history")
	}
	cut := splitPoint(history, keep)
	if cut == 0 {
		return nil, fmt.Errorf("agent: compact %s: %w", key, errNothingToCompact)
	}
	old, recent := history[:cut], history[cut:]

	resp, err := a.complete(ctx, picoclaw.Request{
		Model: a.modelOf(ctx).model,
		Messages: []picoclaw.Message{
			{Role: picoclaw.RoleSystem, Content: summarizePrompt},
			{Role: picoclaw.RoleUser, Content: a.transcript(old)},
		},
		MaxTokens:   a.cfg.MaxTokens,
		Temperature: a.cfg.Temperature,
	})
	if err != nil {
		return nil, fmt.Errorf("agent: compact %s: summarise: %w", key, err)
	}
	summary := strings.TrimSpace(resp.Content)
	if summary == "" {
		return nil, fmt.Errorf("agent: compact %s: summarise: empty summary: %w", key, picoclaw.ErrBadResponse)
	}

	msgs := make([]picoclaw.Message, 0, len(recent)+1)
	msgs = append(msgs, picoclaw.Message{Role: picoclaw.RoleSystem, Content: summaryHeading + summary, Time: time.Now()})
	msgs = append(msgs, recent...)
	if err := store.Replace(ctx, key, msgs); err != nil {
		return nil, fmt.Errorf("agent: compact %s: %w", key, err)
	}
	return msgs, nil
}

// transcript renders msgs as plain text for the summary request. Plain
// text, not the messages themselves, so that tool calls need no tool
// definitions and a previous summary is simply summarised again. When the
// whole would not fit in half the context window, the oldest messages are
// left out.
func (a *Agent) transcript(msgs []picoclaw.Message) string {
	parts := make([]string, 0, len(msgs))
	for _, m := range msgs {
		var line string
		switch {
		case m.Role == picoclaw.RoleSystem:
			line = "[earlier summary]\n" + m.Content
		case m.Role == picoclaw.RoleTool:
			line = fmt.Sprintf("[tool %s result]\n%s", m.Name, clip(m.Content))
		case len(m.ToolCalls) > 0:
			var calls []string
			for _, c := range m.ToolCalls {
				calls = append(calls, fmt.Sprintf("%s(%s)", c.Name, clip(string(c.Arguments))))
			}
			line = fmt.Sprintf("%s: %s\n[calls tools: %s]", m.Role, clip(m.Content), strings.Join(calls, "; "))
		default:
			line = fmt.Sprintf("%s: %s", m.Role, clip(m.Content))
		}
		parts = append(parts, line)
	}
	budget := a.cfg.ContextWindow / 2
	first := len(parts)
	for first > 0 && budget-estimateTokens(parts[first-1]) >= 0 {
		budget -= estimateTokens(parts[first-1])
		first--
	}
	if first == len(parts) && first > 0 { // always keep the newest message
		first--
	}
	text := strings.Join(parts[first:], "\n\n")
	if first > 0 {
		text = fmt.Sprintf("[%d older messages omitted]\n\n", first) + text
	}
	return text
}

// clip shortens s to maxTranscriptMessage runes.
func clip(s string) string {
	if cut := text.TruncateRunes(s, maxTranscriptMessage); len(cut) < len(s) {
		return cut + " …[cut]"
	}
	return s
}
