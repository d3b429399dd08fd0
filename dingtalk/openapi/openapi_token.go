package openapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"picoclaw"
)

const (
	tokenPath = "/v1.0/oauth2/accessToken"
	// tokenEarly is how long before its expiry a token is replaced, so a
	// call never starts with a token about to lapse.
	tokenEarly = 5 * time.Minute
)

// tokenFlight is one token request; callers that need a token while it
// runs wait for it instead of sending their own.
type tokenFlight struct {
	done  chan struct{}
	token string
	err   error
}

// Token returns the app's access token, fetching it when none is cached
// or the cached one is within five minutes of expiry. Only one request
// is in flight at a time; concurrent callers share its result. Rejected
// credentials give an error wrapping picoclaw.ErrAuth.
func (a *Client) Token(ctx context.Context) (string, error) {
	for {
		a.mu.Lock()
		if a.token != "" && time.Now().Before(a.refreshAt) {
			tok := a.token
			a.mu.Unlock()
			return tok, nil
		}
		if f := a.flight; f != nil {
			a.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return "", fmt.Errorf("dingtalk: get access token: %w", ctx.Err())
			}
			if f.err == nil {
				return f.token, nil
			}
			// The caller that fetched gave up (its ctx ended); ours has not.
			if isCtxErr(f.err) && ctx.Err() == nil {
				continue
			}
			return "", f.err
		}
		f := &tokenFlight{done: make(chan struct{})}
		a.flight = f
		a.mu.Unlock()

		tok, ttl, err := a.fetchToken(ctx)

		a.mu.Lock()
		now := time.Now()
		a.flight = nil
		switch {
		case err == nil:
			early := min(tokenEarly, ttl/2) // short-lived tokens (tests) still get used
			a.token, a.refreshAt, a.expiresAt = tok, now.Add(ttl-early), now.Add(ttl)
		case a.token != "" && now.Before(a.expiresAt) && picoclaw.IsRetryable(err):
			// Refreshing early failed for a passing reason: the old token
			// is still good for a few minutes.
			a.log.Warn("dingtalk api: token refresh failed; using the current token until it expires", "err", err)
			tok, err = a.token, nil
		}
		f.token, f.err = tok, err
		close(f.done)
		a.mu.Unlock()
		return tok, err
	}
}

// invalidate drops token from the cache if it is still the cached one, so
// that concurrent callers refused with the same token refresh only once.
func (a *Client) invalidate(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token == token {
		a.token, a.refreshAt, a.expiresAt = "", time.Time{}, time.Time{}
	}
}

func (a *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	in := struct {
		AppKey    string `json:"appKey"`
		AppSecret string `json:"appSecret"`
	}{a.cfg.ClientID, a.cfg.ClientSecret}
	var ans struct {
		AccessToken string `json:"accessToken"`
		ExpireIn    int64  `json:"expireIn"` // seconds
	}
	err := a.withRetry(ctx, "get access token", false, func(string) error {
		return a.postJSON(ctx, tokenPath, "", in, &ans)
	})
	var ae *Error
	if errors.As(err, &ae) && errors.Is(err, picoclaw.ErrAuth) {
		return "", 0, fmt.Errorf("dingtalk: get access token: DingTalk rejected the app credentials; "+
			"check %s (the app's AppKey and AppSecret): %w", cmp.Or(a.cfg.CredentialKeys, "channels.dingtalk.client_id/client_secret"), ae)
	}
	if err != nil {
		return "", 0, err
	}
	if ans.AccessToken == "" || ans.ExpireIn <= 0 {
		return "", 0, fmt.Errorf("dingtalk: get access token: %w: answer lacks accessToken or expireIn", picoclaw.ErrBadResponse)
	}
	a.log.Debug("dingtalk api: access token fetched", "expire_in_s", ans.ExpireIn)
	return ans.AccessToken, time.Duration(ans.ExpireIn) * time.Second, nil
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
