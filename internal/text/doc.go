// Package text holds the string helpers every layer needs when it quotes
// text it did not write (model output, server answers, file names) into
// messages, errors and logs: cutting to a byte budget without splitting a
// UTF-8 character, short snippets for errors, and redaction of secrets.
// One implementation, so that cuts and markers agree everywhere.
package text
