package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	goruntime "runtime"
	"runtime/metrics"
	"strconv"
	"time"

	"picoclaw"
	"picoclaw/dingtalk"
	"picoclaw/outbox"
)

// connectedChannel is a channel that can say whether it is connected.
type connectedChannel interface {
	picoclaw.Channel
	Connected() bool
}

// healthServer serves /health (process up) and /ready (every channel
// connected) for supervisors and load balancers.
type healthServer struct {
	srv *http.Server
	ln  net.Listener
}

// cardChannel counts its AI card calls, the hidden cost of streaming.
type cardChannel interface{ CardStats() dingtalk.CardStats }

// outboxStats is what /health reports about undelivered answers.
type outboxStats interface{ Stats() outbox.Stats }

// startHealth serves /health and /ready; bots, when set, lists every
// DingTalk bot with its state and last message in /health.
// storage, if set, describes shared storage (the NATS queue's partitions).
func startHealth(host string, port int, channels map[string]picoclaw.Channel, ob outboxStats, bots func() []botStatus,
	storage func() any, log *slog.Logger) (*healthServer, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gateway: listen on %s (gateway.host/gateway.port): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		// Goroutines and heap let a soak test see leaks from outside.
		body := map[string]any{
			"status": "ok", "goroutines": goruntime.NumGoroutine(), "heap_live_bytes": heapLive(),
		}
		if ob != nil {
			body["outbox"] = outboxHealth(ob.Stats(), time.Now())
		}
		var cards map[string]int64
		for _, c := range channels {
			if cc, ok := c.(cardChannel); ok {
				// Summed over the bots: the cost of streaming, all told.
				st := cc.CardStats()
				if cards == nil {
					cards = map[string]int64{}
				}
				cards["created"] += st.Created
				cards["streaming_updates"] += st.Updates
				cards["finalized"] += st.Finalized
				cards["fallbacks"] += st.Fallbacks
			}
		}
		if cards != nil {
			body["cards"] = cards
		}
		if bots != nil {
			body["bots"] = bots()
		}
		if storage != nil {
			body["storage"] = storage()
		}
		writeJSON(w, http.StatusOK, body)
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		state := map[string]bool{}
		ready := true
		for name, c := range channels {
			cc, ok := c.(connectedChannel)
			up := !ok || cc.Connected()
			state[name] = up
			ready = ready && up
		}
		code := http.StatusOK
		if !ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]any{"ready": ready, "channels": state})
	})
	h := &healthServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go func() {
		if err := h.srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("health server stopped", "err", err)
		}
	}()
	log.Debug("health endpoints listening", "addr", ln.Addr().String())
	return h, nil
}

// Addr is the listening address (useful when the port was 0).
func (h *healthServer) Addr() string { return h.ln.Addr().String() }

func (h *healthServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// heapLive is the live heap as of the last GC (/gc/heap/live:bytes):
// garbage not yet collected would make a flat heap look like a leak.
// Before the first GC that metric reads 0, and a quiet gateway may not
// collect for a long while; then every object allocated so far counts
// (/memory/classes/heap/objects:bytes), since none has been freed.
// runtime/metrics does not stop the world, unlike ReadMemStats.
func heapLive() uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return liveOrAllocated(uint64Of(sample[0]), uint64Of(sample[1]))
}

// liveOrAllocated is the live heap, or before the first GC (live 0) the
// bytes of every object allocated.
func liveOrAllocated(live, objects uint64) uint64 {
	if live > 0 {
		return live
	}
	return objects
}

// uint64Of is s's count, 0 if the runtime does not know the metric.
func uint64Of(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}
