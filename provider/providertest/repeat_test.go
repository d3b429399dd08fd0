package providertest

import (
	"encoding/json"
	"strings"
	"testing"
)

// Repeat streams Content that many times as one answer, in the same
// chunk format, ending like any other answer.
func TestStreamRepeat(t *testing.T) {
	s := newFake(t)
	s.Enqueue(Reply{Content: "abcd", ChunkSize: 2, Repeat: 3})
	resp := post(t, s, "Bearer k", streamBody)
	chunks := decodeChunks(t, events(t, resp.Body))
	var text strings.Builder
	for _, c := range chunks[1 : len(chunks)-2] {
		var piece string
		if err := json.Unmarshal(c.Choices[0].Delta["content"], &piece); err != nil {
			t.Fatal(err)
		}
		text.WriteString(piece)
	}
	if text.String() != "abcdabcdabcd" || len(chunks) != 1+6+2 {
		t.Errorf("content %q in %d chunks, want abcd three times in 6 content chunks", text.String(), len(chunks))
	}
}
