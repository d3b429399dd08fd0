// Package pool combines several providers into one picoclaw.Provider, as
// PicoClaw's model_list does: entries sharing a model_name take turns
// (round robin), and agents.defaults.model_fallbacks are tried in order
// when a model is rate limited, overloaded or times out. Errors that
// another attempt cannot fix (bad credentials, a request that is too long,
// a cancelled context) are returned at once.
package pool
