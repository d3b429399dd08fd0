// Package fsutil holds the file-durability steps that several picoclaw
// stores share: fdatasync for appended logs, fsync of a directory after a
// create or rename, and the write-to-temporary-then-rename replacement of a
// whole file. It exists so that each store gets these subtle steps right
// once, in one place, instead of repeating them.
package fsutil
