//go:build unix

package tools

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO, a socket or a device in reach of the file tools is refused with
// a clear tool error at once; nothing waits for the other end of the pipe
// (which used to wedge the chat forever).
func TestFSToolsRefuseSpecialFiles(t *testing.T) {
	e := newFSEnv(t, true)
	fifo := filepath.Join(e.ws, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A socket's path must be short; it lives elsewhere and a symlink in
	// the workspace would be refused as outside, so use restrict=false.
	sockDir, err := os.MkdirTemp("", "sk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	open := newFSEnv(t, false)

	cases := []struct {
		env  *fsEnv
		tool string
		args map[string]any
		want string
	}{
		{e, "read_file", map[string]any{"path": "pipe"}, "named pipe (FIFO)"},
		{e, "edit_file", map[string]any{"path": "pipe", "old_text": "a", "new_text": "b"}, "named pipe (FIFO)"},
		{e, "append_file", map[string]any{"path": "pipe", "content": "x"}, "named pipe (FIFO)"},
		{e, "write_file", map[string]any{"path": "pipe", "content": "x"}, "named pipe (FIFO)"},
		{e, "list_dir", map[string]any{"path": "pipe"}, "named pipe (FIFO)"},
		{open, "read_file", map[string]any{"path": sock}, "a socket"},
		{open, "read_file", map[string]any{"path": "/dev/zero"}, "a character device"},
		{open, "append_file", map[string]any{"path": "/dev/null", "content": "x"}, "a character device"},
	}
	for _, c := range cases {
		t.Run(c.tool+" "+c.want, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := c.env.call(t, c.tool, c.args)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "only regular files and directories") {
					t.Errorf("%s = %v, want an error saying it is %s", c.tool, err, c.want)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("%s on a special file is still waiting after 30 s", c.tool)
			}
		})
	}
	if _, err := os.Stat(fifo); err != nil {
		t.Errorf("the FIFO was replaced or removed: %v", err)
	}
}
