package config

import (
	"fmt"
	"path/filepath"
	"strings"
)

// checkDataDir says why the data dir and workspace, both absolute and
// clean, cannot be used together, or "". Tools may touch everything in
// the workspace, so the two must not overlap in either direction.
func checkDataDir(workspace, dataDir string) string {
	switch {
	case workspace == "" || dataDir == "":
		return ""
	case workspace == dataDir:
		return fmt.Sprintf("%s is also the workspace; the gateway's data must live outside what tools can reach (default ~/.picoclaw/data)", dataDir)
	case under(workspace, dataDir):
		return fmt.Sprintf("%s is inside the workspace %s, where tools could read other chats' sessions; move it out (default ~/.picoclaw/data)", dataDir, workspace)
	case under(dataDir, workspace):
		return fmt.Sprintf("%s contains the workspace %s; tools would reach the gateway's data: choose a data dir that does not contain agents.defaults.workspace", dataDir, workspace)
	}
	return ""
}

// under reports whether p is strictly below root.
func under(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
