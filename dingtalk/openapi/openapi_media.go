package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/internal/wire"
	"picoclaw/internal/backoff"
)

const (
	downloadPath = "/v1.0/robot/messageFiles/download"
	uploadPath   = "/media/upload"
	// MaxUploadBytes is the largest file UploadMedia sends; DingTalk's
	// media limits are 20 MB for images, videos and files (voice: 2 MB).
	MaxUploadBytes = 20 << 20
	// DefaultMaxDownload caps a Download given no limit.
	DefaultMaxDownload = 20 << 20
	// downloadAttempts bounds the plain GET of a downloadUrl.
	downloadAttempts = 3
)

// ErrTooLarge reports a file over the size limit.
var ErrTooLarge = errors.New("dingtalk: file too large")

// Download fetches the file of a message by its downloadCode: it asks
// messageFiles/download for a short-lived URL, then GETs it without the
// token. A file over maxBytes (DefaultMaxDownload when ≤ 0) gives an
// error wrapping ErrTooLarge.
func (a *Client) Download(ctx context.Context, downloadCode string, maxBytes int64) ([]byte, string, error) {
	if downloadCode == "" {
		return nil, "", errors.New("dingtalk: download file: empty download code")
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxDownload
	}
	in := struct {
		DownloadCode string `json:"downloadCode"`
		RobotCode    string `json:"robotCode"`
	}{downloadCode, a.cfg.RobotCode}
	var ans struct {
		DownloadURL string `json:"downloadUrl"`
	}
	err := a.withRetry(ctx, "download file", true, func(token string) error {
		return a.postJSON(ctx, downloadPath, token, in, &ans)
	})
	if err != nil {
		return nil, "", err
	}
	u, err := url.Parse(ans.DownloadURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", fmt.Errorf("dingtalk: download file: %w: downloadUrl is not an http(s) URL", picoclaw.ErrBadResponse)
	}
	b := &backoff.Backoff{Min: a.cfg.MinBackoff, Max: min(a.cfg.MaxBackoff, 4*time.Second)}
	for try := 1; ; try++ {
		data, ctype, err := a.get(ctx, ans.DownloadURL, maxBytes)
		if err == nil {
			return data, ctype, nil
		}
		if !errors.Is(err, picoclaw.ErrTemporary) || try >= downloadAttempts || ctx.Err() != nil {
			return nil, "", fmt.Errorf("dingtalk: download file from %s: %w", u.Host, err)
		}
		if serr := backoff.Sleep(ctx, b.Next()); serr != nil {
			return nil, "", fmt.Errorf("dingtalk: download file from %s: %w (last error: %w)", u.Host, serr, err)
		}
	}
}

// get fetches a signed download URL. Errors never quote the URL: its query
// is a credential.
func (a *Client) get(ctx context.Context, rawURL string, maxBytes int64) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, "", fmt.Errorf("build request: %w", wire.StripURL(err))
	}
	hc := *a.hc
	hc.CheckRedirect = nil // storage hosts may redirect; no token travels here
	resp, err := hc.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, "", cerr
		}
		return nil, "", fmt.Errorf("%w: %w", picoclaw.ErrTemporary, wire.StripURL(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		return nil, "", fmt.Errorf("%w: HTTP %d", picoclaw.ErrTemporary, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, "", fmt.Errorf("HTTP %d (the download URL may have expired)", resp.StatusCode)
	case resp.ContentLength > maxBytes:
		return nil, "", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, resp.ContentLength, maxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("read body: %w: %w", picoclaw.ErrTemporary, wire.StripURL(err))
	}
	if int64(len(data)) > maxBytes {
		return nil, "", fmt.Errorf("%w: over %d bytes", ErrTooLarge, maxBytes)
	}
	return data, resp.Header.Get("Content-Type"), nil
}

// UploadMedia uploads a file to the legacy media/upload API and returns
// its media_id, for FileMessage and ImageMessage. mediaType is "image",
// "file", "voice" or "video". r is read whole first (at most
// MaxUploadBytes, else an error wrapping ErrTooLarge) so that the upload
// can be retried.
func (a *Client) UploadMedia(ctx context.Context, mediaType, fileName string, r io.Reader) (string, error) {
	switch mediaType {
	case "image", "file", "voice", "video":
	default:
		return "", fmt.Errorf("dingtalk: upload media: type %q is not image, file, voice or video", mediaType)
	}
	if fileName == "" {
		fileName = mediaType
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxUploadBytes+1))
	if err != nil {
		return "", fmt.Errorf("dingtalk: upload media: read %s: %w", fileName, err)
	}
	if len(data) > MaxUploadBytes {
		return "", fmt.Errorf("dingtalk: upload media %s: %w: over %d bytes", fileName, ErrTooLarge, MaxUploadBytes)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("media", fileName)
	if err == nil {
		_, err = part.Write(data)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return "", fmt.Errorf("dingtalk: upload media: encode form: %w", err)
	}
	var mediaID string
	err = a.withRetry(ctx, "upload media", true, func(token string) error {
		id, err := a.upload(ctx, token, mediaType, mw.FormDataContentType(), body.Bytes())
		mediaID = id
		return err
	})
	if err != nil {
		return "", err
	}
	return mediaID, nil
}

// upload is one media/upload request. The legacy host takes the token in
// the query and answers HTTP 200 with an errcode.
func (a *Client) upload(ctx context.Context, token, mediaType, contentType string, body []byte) (string, error) {
	q := url.Values{"access_token": {token}, "type": {mediaType}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.oapiBase+uploadPath+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("build request: %w", wire.StripURL(err))
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	status, _, raw, err := a.do(a.hc, req)
	if err != nil {
		return "", err
	}
	var ans struct {
		Errcode *int   `json:"errcode"`
		Errmsg  string `json:"errmsg"`
		MediaID string `json:"media_id"`
	}
	jsonErr := json.Unmarshal(raw, &ans)
	switch {
	case status < 200 || status > 299:
		return "", a.apiError(status, raw, token)
	case jsonErr != nil || ans.Errcode == nil:
		return "", fmt.Errorf("%w: HTTP %d answer without errcode: %q", picoclaw.ErrBadResponse, status, a.snippet(raw, token))
	case *ans.Errcode != 0:
		return "", &Error{Status: status, Code: strconv.Itoa(*ans.Errcode), Message: a.snippet([]byte(ans.Errmsg), token)}
	case ans.MediaID == "":
		return "", fmt.Errorf("%w: upload answer lacks media_id", picoclaw.ErrBadResponse)
	}
	return ans.MediaID, nil
}
