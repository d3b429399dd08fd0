package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"picoclaw"
)

// identity is the first line of every system prompt; the workspace files
// (SOUL.md, IDENTITY.md) refine it.
const identity = "You are PicoClaw, a personal AI assistant. Answer in the language the user writes in; be concise and accurate."

// promptFiles lists the workspace files put into the system prompt, in
// order, with the heading each gets.
func promptFiles() []struct{ path, heading string } {
	return []struct{ path, heading string }{
		{"AGENTS.md", "AGENTS.md"},
		{"SOUL.md", "SOUL.md"},
		{"USER.md", "USER.md"},
		{"IDENTITY.md", "IDENTITY.md"},
		{filepath.Join("memory", "MEMORY.md"), "Memory (memory/MEMORY.md)"},
	}
}

// maxPromptFile bounds what one file may add to every request.
const maxPromptFile = 64 << 10

// PromptBuilder builds system prompts from a workspace, re-reading a file
// only when its modification time or size changed. It is safe for
// concurrent use.
type PromptBuilder struct {
	workspace string

	mu     sync.Mutex
	cache  map[string]cachedFile
	skills skillsCache
	// size is the length of the last prompt built: the next one is
	// nearly the same, so its buffer is sized once instead of doubling
	// its way up (copying the prompt several times per turn).
	size atomic.Int64
}

type cachedFile struct {
	mtime time.Time
	size  int64
	text  string
}

// NewPromptBuilder returns a builder for the workspace directory. An empty
// workspace yields prompts without files.
func NewPromptBuilder(workspace string) *PromptBuilder {
	return &PromptBuilder{workspace: workspace, cache: make(map[string]cachedFile)}
}

// SystemPrompt builds a system prompt without caching; see
// PromptBuilder.Build.
func SystemPrompt(workspace string, now time.Time, in picoclaw.Inbound) (string, error) {
	return NewPromptBuilder(workspace).Build(now, in)
}

// Build returns the system prompt for a turn answering in at time now: the
// identity line, each workspace file that exists under its own heading, and
// the current context (time with zone, channel, chat, sender). Missing
// files are skipped silently; files that exist but cannot be read are
// skipped too and reported in the returned error, which the caller logs —
// the prompt is usable either way.
func (b *PromptBuilder) Build(now time.Time, in picoclaw.Inbound) (string, error) {
	var sb strings.Builder
	sb.Grow(int(b.size.Load()) + 256) // + the context lines' variation
	sb.WriteString(identity)
	sb.WriteString("\n")

	var errs []error
	if b.workspace != "" {
		for _, f := range promptFiles() {
			text, err := b.file(f.path)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if text == "" {
				continue
			}
			sb.WriteString("\n## ")
			sb.WriteString(f.heading)
			sb.WriteString("\n\n")
			sb.WriteString(text)
			sb.WriteString("\n")
		}
	}

	if b.workspace != "" {
		skills, err := b.skills.summary(b.workspace)
		if err != nil {
			errs = append(errs, err)
		} else if skills != "" {
			sb.WriteString("\n## Skills\n\nRead a skill's SKILL.md with read_file before using it.\n\n")
			sb.WriteString(skills)
			sb.WriteString("\n")
		}
	}

	sb.WriteString("\n## Current context\n\n")
	fmt.Fprintf(&sb, "- Time: %s\n", now.Format("2006-01-02 15:04:05 Monday MST (UTC-07:00)"))
	if in.Channel != "" {
		fmt.Fprintf(&sb, "- Channel: %s\n", in.Channel)
	}
	if in.Chat.ID != "" {
		fmt.Fprintf(&sb, "- Chat: %s %s\n", in.Chat.Kind, in.Chat.ID)
	}
	switch {
	case in.SenderName != "" && in.SenderID != "":
		fmt.Fprintf(&sb, "- Sender: %s (id %s)\n", in.SenderName, in.SenderID)
	case in.SenderName != "":
		fmt.Fprintf(&sb, "- Sender: %s\n", in.SenderName)
	case in.SenderID != "":
		fmt.Fprintf(&sb, "- Sender: id %s\n", in.SenderID)
	}
	b.size.Store(int64(sb.Len()))
	return sb.String(), errors.Join(errs...)
}

// file returns the trimmed contents of a workspace file, "" when it does
// not exist.
func (b *PromptBuilder) file(rel string) (string, error) {
	path := filepath.Join(b.workspace, rel)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		b.forget(rel)
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("agent: prompt file %s: %w", rel, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("agent: prompt file %s: not a regular file", rel)
	}

	b.mu.Lock()
	c, ok := b.cache[rel]
	b.mu.Unlock()
	if ok && c.mtime.Equal(fi.ModTime()) && c.size == fi.Size() {
		return c.text, nil
	}

	text, err := readPromptFile(path)
	if err != nil {
		return "", fmt.Errorf("agent: prompt file %s: %w", rel, err)
	}
	b.mu.Lock()
	b.cache[rel] = cachedFile{mtime: fi.ModTime(), size: fi.Size(), text: text}
	b.mu.Unlock()
	return text, nil
}

func (b *PromptBuilder) forget(rel string) {
	b.mu.Lock()
	delete(b.cache, rel)
	b.mu.Unlock()
}

func readPromptFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPromptFile+1))
	if err != nil {
		return "", err
	}
	// The cut may split a UTF-8 sequence; drop the broken tail.
	text := strings.TrimSpace(strings.ToValidUTF8(string(data[:min(len(data), maxPromptFile)]), ""))
	if len(data) > maxPromptFile {
		text += fmt.Sprintf("\n\n[truncated: only the first %d bytes of this file are shown]", maxPromptFile)
	}
	return text, nil
}
