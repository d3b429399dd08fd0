//go:build !race

package dingtalktest

import "testing"

// TestOfficialSDKPing checks the fake's SYSTEM ping against the SDK's
// answer. It is left out of -race runs: SDK v0.9.1 acks each frame from its
// own goroutine with unsynchronised websocket writes, so any second frame
// is a data race inside the SDK, not in the fake.
func TestOfficialSDKPing(t *testing.T) {
	s := newServer(t)
	startSDK(t, s)
	if err := s.Ping(testCtx(t), "123-dsfs"); err != nil {
		t.Fatalf("ping through the SDK: %v", err)
	}
}
