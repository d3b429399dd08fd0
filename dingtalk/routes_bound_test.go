package dingtalk

import (
	"strconv"
	"testing"
	"time"

	"picoclaw"
)

func TestRoutesBound(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name    string
		slack   int
		expired int // routes already expired when the map overflows
		want    int // entries left after one insert over maxRoutes
	}{
		{"exact: the route closest to expiry goes", 0, 0, maxRoutes},
		{"exact: expired routes go first", 0, 10, maxRoutes - 9},
		{"slack: a batch goes at once", 100, 0, maxRoutes - 100},
		{"slack: expired routes count toward it", 100, 300, maxRoutes - 299},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]route{}
			for i := range maxRoutes + 1 {
				exp := now.Add(time.Hour + time.Duration(i)*time.Second) // key i expires i seconds after key 0
				if i >= 1 && i <= tt.expired {
					exp = now.Add(-time.Minute)
				}
				m[strconv.Itoa(i)] = route{expiry: exp}
			}
			bound(m, now, tt.slack)
			if len(m) != tt.want {
				t.Fatalf("%d routes left, want %d", len(m), tt.want)
			}
			for i := 1; i <= tt.expired; i++ {
				if _, ok := m[strconv.Itoa(i)]; ok {
					t.Fatalf("expired route %d kept", i)
				}
			}
			if _, ok := m["0"]; ok && tt.expired < tt.slack+1 {
				t.Error("the route closest to expiry was kept")
			}
			if _, ok := m[strconv.Itoa(maxRoutes)]; !ok {
				t.Error("the newest route was dropped")
			}
			bound(m, now, tt.slack) // under the bound now: nothing more goes
			if len(m) != tt.want {
				t.Errorf("a second pass left %d, want %d", len(m), tt.want)
			}
		})
	}
}

func TestRoutesRememberKeepsMessageMapBounded(t *testing.T) {
	rt := newRoutes()
	now := time.Now()
	chat := picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"}
	for i := range 3 * maxRoutes {
		rt.remember("m"+strconv.Itoa(i), route{expiry: now.Add(time.Hour + time.Duration(i)*time.Millisecond), chat: chat}, now)
	}
	if n := len(rt.byMsg); n > maxRoutes || n < maxRoutes-maxRoutes/8 {
		t.Errorf("%d message routes, want between %d and %d", n, maxRoutes-maxRoutes/8, maxRoutes)
	}
	if _, ok := rt.message("m" + strconv.Itoa(3*maxRoutes-1)); !ok {
		t.Error("the latest message's route was dropped")
	}
}
