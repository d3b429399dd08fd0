// Package tools holds the built-in tools the model may call and the
// Registry that dispatches its calls.
//
// Tool names and parameters follow PicoClaw v0.2.6: read_file, write_file,
// edit_file, append_file, list_dir, exec, web_fetch, web_search and message.
// A tool's error is text for the model, never a reason to end a turn: the
// Registry turns unknown names, malformed arguments and panics into errors
// that say what was expected.
//
// Restriction to the workspace (file tools, exec's working_dir) and exec's
// deny list are guard rails against a confused model, not a sandbox against
// a hostile one: a shell command can still reach anything the process can.
package tools
