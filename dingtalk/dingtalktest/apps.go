package dingtalktest

import "fmt"

// Several apps: DingTalk serves every robot app of every tenant from the
// same hosts, so one gateway running several bots talks to one server
// with several credentials. The Server's ClientID/ClientSecret is its
// first app; AddApp registers more. Each app opens its own stream
// sockets, gets its own access tokens (valid for its own robotCode only)
// and its own bot messages (BotMessage.App), and every session webhook
// remembers the app whose message opened it (Reply.App).

// AddApp registers another app the fake accepts: connections/open and
// the access token endpoint take clientID with secret, and robot calls
// with that app's token must carry robotCode clientID. Safe at any time.
func (s *Server) AddApp(clientID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps == nil {
		s.apps = map[string]string{}
	}
	s.apps[clientID] = secret
}

// appSecretLocked returns the secret of the app clientID, false for an
// unknown app. Callers hold s.mu.
func (s *Server) appSecretLocked(clientID string) (string, bool) {
	if clientID == "" {
		return "", false
	}
	if clientID == s.ClientID {
		return s.ClientSecret, true
	}
	secret, ok := s.apps[clientID]
	return secret, ok
}

// robotCodeForLocked is the robot code calls made with a token of app
// must carry: the first app's RobotCode (default its ClientID), another
// app's client id. Callers hold s.mu.
func (s *Server) robotCodeForLocked(app string) string {
	if app == "" || app == s.ClientID {
		return s.robotCodeLocked()
	}
	return app
}

// liveForLocked returns the open, not draining socket of app ("" for any
// app) a push goes down: the most recent, or a random one under
// PushRandom (multiconn.go).
func (s *Server) liveForLocked(app string) *wsConn { return s.pickLocked(app, false) }

func (s *Server) liveFor(app string) (*wsConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.liveForLocked(app); c != nil {
		return c, nil
	}
	if app != "" {
		return nil, fmt.Errorf("dingtalktest: app %s: %w", app, ErrNoConnection)
	}
	return nil, ErrNoConnection
}

// appKeyOKLocked reports whether appKey and appSecret are the credentials
// of one of the fake's apps.
func (s *Server) appKeyOKLocked(appKey, appSecret string) bool {
	secret, ok := s.appSecretLocked(appKey)
	return ok && appSecret == secret
}
