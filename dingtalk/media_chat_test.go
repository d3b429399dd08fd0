package dingtalk

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"picoclaw"
)

// Each chat's files go to its own folder, and the model is told the
// "media/…" name the file tools resolve for that chat only.
func TestResolveSavesPerChat(t *testing.T) {
	r, _, _ := newResolver(t, false, map[string]download{"f": {data: []byte("PK\x03\x04 zip data"), ctype: "application/zip"}})
	root := t.TempDir()
	r.Dir = ""
	r.ChatDir = func(s picoclaw.SessionKey) string {
		return filepath.Join(root, strings.NewReplacer(":", "~").Replace(string(s)))
	}
	for _, chat := range []picoclaw.SessionKey{"dingtalk:direct:A", "dingtalk:direct:B"} {
		in := &picoclaw.Inbound{MessageID: "m-" + string(chat[len(chat)-1:]), Session: chat,
			Attachments: []picoclaw.Attachment{{Kind: "file", Name: "report.zip", Ref: "f"}}}
		if err := r.Resolve(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		a := in.Attachments[0]
		if want := r.ChatDir(chat); filepath.Dir(filepath.Dir(a.Path)) != want {
			t.Errorf("%s: saved at %s, want under %s", chat, a.Path, want)
		}
		shown := "media/2024-05-06/" + filepath.Base(a.Path)
		if !strings.Contains(a.Note, "saved at "+shown) || strings.Contains(a.Note, root) {
			t.Errorf("%s: note %q, want it to name %s and not the data dir", chat, a.Note, shown)
		}
		if st, err := os.Stat(a.Path); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want a 0600 file", chat, st, err)
		}
	}
}
