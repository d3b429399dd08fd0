package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("%s: body is not JSON: %v", url, err)
	}
	return resp.StatusCode, v
}

// /health says the process is up; /ready says every channel is connected.
func TestHealthAndReady(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.start()
	base := fmt.Sprintf("http://127.0.0.1:%d", h.port)
	if code, body := getJSON(t, base+"/health"); code != http.StatusOK || body["status"] != "ok" ||
		body["goroutines"].(float64) < 1 || body["heap_live_bytes"].(float64) <= 0 {
		t.Errorf("/health = %d %v", code, body)
	}
	// The harness waited for the first socket; the fake may still cut it
	// and the gateway reconnect on its own, so wait for ready, bounded.
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	var code int
	var body map[string]any
	for {
		code, body = getJSON(t, base+"/ready")
		if code == http.StatusOK && body["ready"] == true {
			break
		}
		select {
		case <-rctx.Done():
			t.Fatalf("/ready while connected = %d %v", code, body)
		case <-time.After(20 * time.Millisecond):
		}
	}
	// A zombie socket is detected by the dead-man timer only after a
	// minute; a refused reconnect shows at once: drop and fail reopening.
	h.dt.FailOpen(http.StatusInternalServerError, `{"code":"systemError","message":"x"}`, 1000)
	h.dt.CloseClientConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		code, body = getJSON(t, base+"/ready")
		if code == http.StatusServiceUnavailable {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("/ready stayed %d after the connection dropped", code)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if ch, _ := body["channels"].(map[string]any); ch["dingtalk"] != false {
		t.Errorf("/ready body %v does not name the disconnected channel", body)
	}
}

// Before the first GC /gc/heap/live:bytes reads 0; /health then reports
// the heap's objects, never 0.
func TestHeapLiveBeforeFirstGC(t *testing.T) {
	if got := liveOrAllocated(0, 4096); got != 4096 {
		t.Errorf("before the first GC: %d, want the allocated 4096", got)
	}
	if got := liveOrAllocated(1024, 4096); got != 1024 {
		t.Errorf("after a GC: %d, want the live 1024", got)
	}
	if heapLive() == 0 {
		t.Error("heapLive() = 0 in a running process")
	}
}
