package dingtalktest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// dialN opens n raw sockets for the first app; their index is their
// ConnInfo.Number-1.
func dialN(t *testing.T, s *Server, n int) []*websocket.Conn {
	t.Helper()
	out := make([]*websocket.Conn, n)
	for i := range out {
		out[i] = dialRaw(t, s)
	}
	return out
}

// connIndex maps connection ids to their socket's index in dialN's slice.
func connIndex(s *Server) map[string]int {
	idx := map[string]int{}
	for _, c := range s.Connections() {
		idx[c.ID] = c.Number - 1
	}
	return idx
}

// readFrameOf reads frames from ws until one carries header messageId id,
// and returns its data.msgId.
func readFrameOf(t *testing.T, ws *websocket.Conn, id string) string {
	t.Helper()
	for {
		f, _ := readJSON(t, ws)
		h, _ := f["headers"].(map[string]any)
		if h["messageId"] == id {
			return decodeData(t, f)["msgId"].(string)
		}
	}
}

// ackFrame acks header messageId id on ws with code.
func ackFrame(t *testing.T, ws *websocket.Conn, id string, code int) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"code": code, "message": "OK", "data": `{"response":null}`,
		"headers": map[string]string{"messageId": id, "contentType": "application/json"}})
	if err := ws.Write(testCtx(t), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// randomTargets pushes n messages under PushRandom with seed and returns
// the index of the socket each went to.
func randomTargets(t *testing.T, seed uint64, sockets, n int) []int {
	t.Helper()
	s := newServer(t)
	ws := dialN(t, s, sockets)
	s.SetSeed(seed)
	s.SetPushPolicy(PushRandom)
	idx := connIndex(s)
	var got []int
	for range n {
		p := mustPush(t, s, BotMessage{Text: "hi"})
		i := idx[p.ConnectionID]
		if msgID := readFrameOf(t, ws[i], p.MessageID); msgID != p.MsgID {
			t.Fatalf("socket %d got msgId %s, want %s", i+1, msgID, p.MsgID)
		}
		got = append(got, i)
	}
	return got
}

func TestRandomPushSpreadsOverEveryConnection(t *testing.T) {
	const sockets, n = 3, 30
	got := randomTargets(t, 42, sockets, n)
	per := make([]int, sockets)
	for _, i := range got {
		per[i]++
	}
	for i, k := range per {
		if k == 0 {
			t.Errorf("socket %d got none of %d pushes (spread %v)", i+1, n, per)
		}
	}
	again := randomTargets(t, 42, sockets, n)
	for i := range got {
		if got[i] != again[i] {
			t.Fatalf("seed 42 chose %v, then %v: not reproducible", got, again)
		}
	}
}

func TestDefaultPushGoesToLatestOnce(t *testing.T) {
	s := newServer(t)
	dialN(t, s, 3)
	latest := s.Connections()[2].ID
	for range 5 {
		if p := mustPush(t, s, BotMessage{Text: "hi"}); p.ConnectionID != latest {
			t.Fatalf("default policy pushed to %s, want the latest socket %s", p.ConnectionID, latest)
		}
	}
	if d, n := len(s.Deliveries()), s.Duplicates(); d != 5 || n != 0 || s.PendingRedeliveries() != 0 {
		t.Errorf("default: %d deliveries, %d duplicates, %d pending; want 5, 0, 0", d, n, s.PendingRedeliveries())
	}
}

func TestUnackedMessageRedeliveredUntilAcked(t *testing.T) {
	s := newServer(t)
	ws := dialN(t, s, 2)
	s.SetRedelivery(100 * time.Millisecond)
	idx := connIndex(s)
	p := mustPush(t, s, BotMessage{Text: "hi"})
	readFrameOf(t, ws[idx[p.ConnectionID]], p.MessageID)
	// A refusal is no ack: the message keeps coming.
	ackFrame(t, ws[idx[p.ConnectionID]], p.MessageID, 500)

	ds, err := s.WaitDeliveries(testCtx(t), p.MsgID, 2)
	if err != nil {
		t.Fatal(err)
	}
	d := ds[1]
	if !d.Redelivery || d.Attempt != 2 || d.MessageID == p.MessageID || d.MsgID != p.MsgID {
		t.Fatalf("second delivery %+v: want a redelivery, attempt 2, new messageId, msgId %s", d, p.MsgID)
	}
	if msgID := readFrameOf(t, ws[idx[d.ConnectionID]], d.MessageID); msgID != p.MsgID {
		t.Fatalf("redelivered frame carries msgId %s, want %s", msgID, p.MsgID)
	}
	ackFrame(t, ws[idx[d.ConnectionID]], d.MessageID, 200)
	if err := s.WaitRedeliveriesDone(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if !s.Acked(p.MsgID) {
		t.Fatalf("redeliveries ended with %s unacked", p.MsgID)
	}
	if n := len(s.DeliveriesOf(p.MsgID)); n > 1+DefaultMaxRedeliveries {
		t.Errorf("%d deliveries, more than 1+%d", n, DefaultMaxRedeliveries)
	}
}

func TestRedeliveryGivesUpAfterMax(t *testing.T) {
	s := newServer(t)
	dialRaw(t, s)
	s.SetRedelivery(10 * time.Millisecond)
	s.SetMaxRedeliveries(2)
	p := mustPush(t, s, BotMessage{Text: "never acked"})
	if err := s.WaitRedeliveriesDone(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	ds := s.DeliveriesOf(p.MsgID)
	if len(ds) != 3 || s.Acked(p.MsgID) {
		t.Fatalf("never acked, max 2: %d deliveries (acked %v), want 3", len(ds), s.Acked(p.MsgID))
	}
	for i, d := range ds {
		if d.Attempt != i+1 || d.Redelivery != (i > 0) {
			t.Errorf("delivery %d: %+v", i+1, d)
		}
	}
}

func TestDeadConnectionsUnackedGoToSurvivor(t *testing.T) {
	s := newServer(t)
	ws := dialN(t, s, 2)
	s.SetRedelivery(100 * time.Millisecond)
	p := mustPush(t, s, BotMessage{Text: "hi"}) // the latest: socket 2
	readFrameOf(t, ws[1], p.MessageID)
	_ = ws[1].CloseNow() // dies before acking
	if _, err := s.WaitClosed(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	survivor := s.Connections()[0].ID
	var got Delivery
	err := s.waitFor(testCtx(t), func() bool {
		for _, d := range s.deliveriesOfLocked(p.MsgID) {
			if d.ConnectionID == survivor {
				got = d
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("the survivor never got the unacked message: %v (deliveries %+v)", err, s.DeliveriesOf(p.MsgID))
	}
	if msgID := readFrameOf(t, ws[0], got.MessageID); msgID != p.MsgID || !got.Redelivery {
		t.Fatalf("survivor got msgId %s in %+v, want a redelivery of %s", msgID, got, p.MsgID)
	}
	ackFrame(t, ws[0], got.MessageID, 200)
	if err := s.WaitRedeliveriesDone(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if !s.Acked(p.MsgID) {
		t.Error("ack on the survivor not counted")
	}
}

func TestInjectedDuplicatesCounted(t *testing.T) {
	s := newServer(t)
	ws := dialN(t, s, 2)
	s.SetPushPolicy(PushRandom)
	s.SetDuplicateRate(1)
	idx := connIndex(s)
	p := mustPush(t, s, BotMessage{Text: "twice"})
	ds := s.DeliveriesOf(p.MsgID)
	if len(ds) != 2 || !ds[1].Duplicate || ds[1].MessageID == p.MessageID || s.Duplicates() != 1 {
		t.Fatalf("rate 1: deliveries %+v, duplicates %d; want the message then one duplicate", ds, s.Duplicates())
	}
	for _, d := range ds {
		if msgID := readFrameOf(t, ws[idx[d.ConnectionID]], d.MessageID); msgID != p.MsgID {
			t.Fatalf("copy carries msgId %s, want %s", msgID, p.MsgID)
		}
	}

	s.SetSeed(7)
	s.SetDuplicateRate(0.5)
	const n = 40
	for range n {
		mustPush(t, s, BotMessage{Text: "maybe twice"})
	}
	dups := 0
	for _, d := range s.Deliveries() {
		if d.Duplicate {
			dups++
		}
	}
	if got := s.Duplicates(); got != dups || got <= 1 || got >= 1+n {
		t.Errorf("rate 0.5 over %d pushes: Duplicates %d, duplicate deliveries %d", n, got, dups)
	}
}

func TestReplyCountsPerMsgID(t *testing.T) {
	s := newServer(t)
	dialRaw(t, s)
	group := BotMessage{Group: true, ConversationID: "cidCOUNT==", Text: "q"}
	g1, g2, g3 := mustPush(t, s, group), mustPush(t, s, group), mustPush(t, s, group)
	dm := mustPush(t, s, BotMessage{SenderStaffID: "0777", Text: "dm"})
	silent := mustPush(t, s, BotMessage{SenderStaffID: "0888", Text: "unanswered"})

	for _, p := range []Pushed{g1, g1, g2} {
		if code := postWebhookCode(t, s, p); code != ErrcodeOK {
			t.Fatalf("webhook errcode %d", code)
		}
	}
	tok := getToken(t, s)
	groupSend := map[string]any{"robotCode": s.ClientID, "openConversationId": "cidCOUNT==",
		"msgKey": "sampleText", "msgParam": `{"content":"a"}`}
	for range 2 { // the first answers g3, the oldest unanswered; the second doubles it
		if status, m := apiPost(t, s, GroupSendPath, tok, groupSend); status != 200 {
			t.Fatalf("group send: HTTP %d %v", status, m)
		}
	}
	direct := map[string]any{"robotCode": s.ClientID, "userIds": []string{"0777"},
		"msgKey": "sampleText", "msgParam": `{"content":"a"}`}
	if status, m := apiPost(t, s, BatchSendPath, tok, direct); status != 200 {
		t.Fatalf("batchSend: HTTP %d %v", status, m)
	}

	want := map[string]int{g1.MsgID: 2, g2.MsgID: 1, g3.MsgID: 2, dm.MsgID: 1, silent.MsgID: 0}
	got := s.ReplyCounts()
	if len(got) != len(want) {
		t.Errorf("ReplyCounts has %d messages, want %d: %v", len(got), len(want), got)
	}
	for id, n := range want {
		if got[id] != n || s.ReplyCountFor(id) != n {
			t.Errorf("replies to %s: %d (ReplyCountFor %d), want %d", id, got[id], s.ReplyCountFor(id), n)
		}
	}
	sends := s.OpenAPISends()
	if len(sends) != 3 || sends[0].AnswersMsgIDs[0] != g3.MsgID || sends[2].AnswersMsgIDs[0] != dm.MsgID {
		t.Errorf("OpenAPI sends tied to %+v", sends)
	}
}

func TestRandomPushSkipsDrainingAndOtherApps(t *testing.T) {
	s := newServerWith(t, func(s *Server) { s.DisconnectDelay = time.Hour })
	s.AddApp("app-b", "secret-b")
	dialN(t, s, 3)
	dialApp(t, s, "app-b", "secret-b")
	s.SetPushPolicy(PushRandom)
	s.SetSeed(5)
	conns := s.Connections()
	// The disconnect itself goes down a random socket of the first app's
	// or app-b's: whichever drains, pushes for the first app avoid it.
	draining, err := s.Disconnect("rebalance")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, c := range conns {
		if c.App == s.ClientID && c.ID != draining {
			allowed[c.ID] = true
		}
	}
	for range 30 {
		p := mustPush(t, s, BotMessage{App: s.ClientID, Text: "hi"})
		if !allowed[p.ConnectionID] {
			t.Fatalf("push for %s went down %s (draining %s, app-b's %s)", s.ClientID, p.ConnectionID, draining, conns[3].ID)
		}
	}
}
