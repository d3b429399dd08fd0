package httpx

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"
)

func TestRotationDo(t *testing.T) {
	errRefused := errors.New("refused")
	tests := []struct {
		name     string
		keys     []string
		statuses []int // answer of each attempt in turn; 200 succeeds
		wantKeys []string
		wantErr  bool
	}{
		{"first key answers", []string{"sk-a", "sk-b", "sk-c"}, []int{200}, []string{"sk-a"}, false},
		{"429 tries the next key", []string{"sk-a", "sk-b", "sk-c"}, []int{429, 200}, []string{"sk-a", "sk-b"}, false},
		{"401 tries the next key", []string{"sk-a", "sk-b", "sk-c"}, []int{401, 200}, []string{"sk-a", "sk-b"}, false},
		{"403 tries the next key", []string{"sk-a", "sk-b", "sk-c"}, []int{403, 200}, []string{"sk-a", "sk-b"}, false},
		{"only one retry", []string{"sk-a", "sk-b", "sk-c"}, []int{401, 401}, []string{"sk-a", "sk-b"}, true},
		{"500 is not retried", []string{"sk-a", "sk-b", "sk-c"}, []int{500}, []string{"sk-a"}, true},
		{"no answer is not retried", []string{"sk-a", "sk-b", "sk-c"}, []int{0}, []string{"sk-a"}, true},
		{"a single key is not retried", []string{"sk-a"}, []int{429}, []string{"sk-a"}, true},
		{"no keys: one empty key", nil, []int{200}, []string{""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			r := NewRotation("test", tt.keys, time.Minute, slog.New(slog.NewTextHandler(&logs, nil)))
			var used []string
			res, err := Do(t.Context(), r, "m", func(_ context.Context, key string) (string, int, error) {
				used = append(used, key)
				status := tt.statuses[len(used)-1]
				if status != http.StatusOK {
					return "partial", status, errRefused
				}
				return "answer from " + key, status, nil
			})
			if tt.wantErr != (err != nil) || err != nil && !errors.Is(err, errRefused) {
				t.Errorf("Do = %v, want error %v (the attempt's)", err, tt.wantErr)
			}
			if want := "answer from " + used[len(used)-1]; tt.wantErr && res != "" || !tt.wantErr && res != want {
				t.Errorf("Do result = %q, want %q", res, want)
			}
			if !slices.Equal(used, tt.wantKeys) {
				t.Errorf("keys used = %q, want %q", used, tt.wantKeys)
			}
			for _, k := range tt.keys {
				if strings.Contains(logs.String(), k) {
					t.Errorf("log %q names key %q", logs.String(), k)
				}
			}
			if retried := len(used) > 1; retried != strings.Contains(logs.String(), "test: key refused") {
				t.Errorf("log %q; a retry (%v) must be logged", logs.String(), retried)
			}
		})
	}
}

// Keys are used in turn across calls, and a retry moves the turn on.
func TestRotationTurns(t *testing.T) {
	r := NewRotation("test", []string{"a", "b", "c"}, time.Minute, nil)
	var used []string
	try := func(statuses ...int) {
		n := 0
		_, _ = Do(t.Context(), r, "m", func(_ context.Context, key string) (struct{}, int, error) {
			used = append(used, key)
			n++
			if statuses[n-1] != http.StatusOK {
				return struct{}{}, statuses[n-1], errors.New("refused")
			}
			return struct{}{}, statuses[n-1], nil
		})
	}
	try(200)
	try(429, 200)
	try(200)
	try(200)
	if want := []string{"a", "b", "c", "a", "b"}; !slices.Equal(used, want) {
		t.Errorf("keys used = %q, want %q", used, want)
	}
}

func TestRotationTimeoutAndCancel(t *testing.T) {
	block := func(ctx context.Context, _ string) (int, int, error) {
		<-ctx.Done()
		return 0, 0, ctx.Err()
	}
	t.Run("timeout is temporary", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, err := Do(t.Context(), NewRotation("test", []string{"a", "b"}, time.Second, nil), "m", block)
			if !errors.Is(err, picoclaw.ErrTemporary) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				t.Errorf("Do = %v, want ErrTemporary wrapping context.DeadlineExceeded", err)
			}
		})
	})
	t.Run("caller's cancellation is its own", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := Do(ctx, NewRotation("test", []string{"a", "b"}, time.Minute, nil), "m", block)
		if !errors.Is(err, context.Canceled) || errors.Is(err, picoclaw.ErrTemporary) {
			t.Errorf("Do = %v, want context.Canceled only", err)
		}
	})
}

// While one request waits, others move the turn on; its retry must still
// not land on the key just refused.
func TestRotationRetrySkipsRefusedKey(t *testing.T) {
	r := NewRotation("test", []string{"a", "b"}, time.Minute, nil)
	var used []string
	_, err := Do(t.Context(), r, "m", func(ctx context.Context, key string) (struct{}, int, error) {
		used = append(used, key)
		if len(used) > 1 {
			return struct{}{}, http.StatusOK, nil
		}
		// Another request takes "b" meanwhile; the turn is back at "a".
		_, _ = Do(ctx, r, "m", func(context.Context, string) (struct{}, int, error) { return struct{}{}, http.StatusOK, nil })
		return struct{}{}, http.StatusTooManyRequests, errors.New("rate limited")
	})
	if err != nil || !slices.Equal(used, []string{"a", "b"}) {
		t.Errorf("Do = %v with keys %q, want success retrying with b", err, used)
	}
}
