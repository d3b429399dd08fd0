// Package wire holds the small HTTP helpers that the DingTalk stream,
// OpenAPI and webhook clients share: Retry-After parsing, URL-free
// transport errors, untrusted-body excerpts and JSON without HTML
// escaping. It is internal so that none of them becomes public API.
package wire
