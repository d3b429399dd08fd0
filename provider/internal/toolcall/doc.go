// Package toolcall holds what the provider packages share about the tool
// calls a model streams.
package toolcall
