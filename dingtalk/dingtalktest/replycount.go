package dingtalktest

// Replies per message, for "exactly one answer per msgId" across several
// gateways. A session-webhook reply is tied to its message exactly: the
// webhook was opened for that message. An OpenAPI send (batchSend,
// groupMessages/send) names only a chat, so it is tied by time order, an
// approximation: to the oldest message of that chat (same app; a group's
// openConversationId, or a single chat's sender staff id) that has no
// reply counted yet, or, when every message there has one, to the chat's
// latest message, so that a doubled answer shows up as a count of 2. A
// proactive OpenAPI message (a cron job's) in a chat is therefore counted
// against a message of that chat.

// chatLog is the bot messages of one chat, in push order.
type chatLog struct {
	msgIDs []string
	// next is the first message with no reply counted: counts only grow,
	// so it only moves forward.
	next int
}

// chatKey names a chat as both routes can: app (client id) and group
// conversation id, or app and the single chat's user staff id.
func chatKey(app string, group bool, id string) string {
	if group {
		return "g|" + app + "|" + id
	}
	return "d|" + app + "|" + id
}

// trackChatLocked files message msgID under its chat, once.
func (s *Server) trackChatLocked(key, msgID string) {
	if _, seen := s.mc.replies[msgID]; seen {
		return
	}
	s.mc.replies[msgID] = 0
	cl := s.mc.chats[key]
	if cl == nil {
		cl = &chatLog{}
		s.mc.chats[key] = cl
	}
	cl.msgIDs = append(cl.msgIDs, msgID)
}

// countReplyLocked counts one reply to msgID.
func (s *Server) countReplyLocked(msgID string) {
	if msgID != "" {
		s.mc.replies[msgID]++
	}
}

// answerInChatLocked ties an OpenAPI send in chat key to a message as the
// package comment says and counts it; "" when the chat had no message.
func (s *Server) answerInChatLocked(key string) string {
	cl := s.mc.chats[key]
	if cl == nil || len(cl.msgIDs) == 0 {
		return ""
	}
	for cl.next < len(cl.msgIDs) && s.mc.replies[cl.msgIDs[cl.next]] > 0 {
		cl.next++
	}
	id := cl.msgIDs[len(cl.msgIDs)-1]
	if cl.next < len(cl.msgIDs) {
		id = cl.msgIDs[cl.next]
	}
	s.countReplyLocked(id)
	return id
}

// ReplyCounts returns, for every bot message pushed, how many replies
// answered it: session-webhook replies (exact) and OpenAPI sends (tied by
// chat and time order, see OpenAPISend.AnswersMsgIDs). A message with no
// reply maps to 0.
func (s *Server) ReplyCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.mc.replies))
	for id, n := range s.mc.replies {
		out[id] = n
	}
	return out
}

// ReplyCountFor is ReplyCounts()[msgID].
func (s *Server) ReplyCountFor(msgID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mc.replies[msgID]
}
