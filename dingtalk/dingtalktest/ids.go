package dingtalktest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// randHex returns n random lowercase hex digits.
func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b)[:n]
}

// newUUID returns a random UUID-shaped string (tickets, connection ids).
func newUUID() string {
	h := randHex(32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newRequestID mimics the upper-case requestid of api.dingtalk.com errors.
func newRequestID() string { return strings.ToUpper(newUUID()) }

// newMessageID mimics header messageIds such as
// "2107edc2_11b8_19612ebcb2c_xxxx": random, counter, time in ms, random.
func newMessageID(seq uint64) string {
	return fmt.Sprintf("%s_%x_%x_%s", randHex(8), seq, time.Now().UnixMilli(), randHex(5))
}

// newMsgID mimics data.msgId ("msg" + base64-ish + "==").
func newMsgID() string { return "msg" + randHex(20) + "==" }
