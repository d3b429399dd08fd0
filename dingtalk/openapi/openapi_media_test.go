package openapi

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
)

// fakeOpenAPI is a client of a dingtalktest server, in memory
// (srv.Transport): a test that retries runs it in a synctest bubble, where
// the waits pass in fake time.
func fakeOpenAPI(t *testing.T, srv *dingtalktest.Server) *Client {
	t.Helper()
	a, err := New(Config{
		ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIBase: srv.URL(),
		HTTPClient: &http.Client{Transport: srv.Transport()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestOpenAPIDownload(t *testing.T) {
	srv := newFake(t)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 1000)...)
	srv.AddFile("codeA", png, "image/png")
	a := fakeOpenAPI(t, srv)
	tests := []struct {
		name     string
		code     string
		max      int64
		wantErr  error
		contains string
	}{
		{"whole file", "codeA", 1 << 20, nil, ""},
		{"exactly the limit", "codeA", int64(len(png)), nil, ""},
		{"over the limit", "codeA", int64(len(png)) - 1, ErrTooLarge, ""},
		{"unknown code", "nope", 1 << 20, nil, "invalidParameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, ctype, err := a.Download(testCtx(t), tt.code, tt.max)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.contains != "":
				if err == nil || !strings.Contains(err.Error(), tt.contains) {
					t.Fatalf("err = %v, want %q", err, tt.contains)
				}
			default:
				if err != nil || !bytes.Equal(data, png) || ctype != "image/png" {
					t.Fatalf("got %d bytes %q, %v", len(data), ctype, err)
				}
			}
			if err != nil && strings.Contains(err.Error(), "Signature=") {
				t.Errorf("error quotes the signed URL: %v", err)
			}
		})
	}
	for _, d := range srv.FileDownloads() {
		if d.TokenHeader {
			t.Errorf("the access token was sent to the storage host")
		}
	}
	if n := len(srv.FileDownloads()); n != 3 {
		t.Errorf("%d file GETs, want 3", n)
	}
}

func TestOpenAPIUploadMedia(t *testing.T) {
	srv := newFake(t)
	a := fakeOpenAPI(t, srv)
	ctx := testCtx(t)
	id, err := a.UploadMedia(ctx, "file", "report.pdf", strings.NewReader("%PDF-1.7 data"))
	if err != nil || !strings.HasPrefix(id, "@") {
		t.Fatalf("UploadMedia = %q, %v", id, err)
	}
	// A revoked token is refreshed once and the upload sent again.
	srv.RevokeTokens()
	id2, err := a.UploadMedia(ctx, "image", "a.png", bytes.NewReader([]byte("png")))
	if err != nil {
		t.Fatal(err)
	}
	ups := srv.Uploads()
	if len(ups) != 2 || ups[0].Type != "file" || ups[0].FileName != "report.pdf" || string(ups[0].Data) != "%PDF-1.7 data" ||
		ups[0].MediaID != id || ups[1].MediaID != id2 || ups[1].Type != "image" {
		t.Errorf("uploads %+v", ups)
	}
	if srv.TokensIssued() != 2 || srv.OpenAPICount(dingtalktest.UploadPath) != 3 {
		t.Errorf("%d tokens, %d upload calls; want 2 and 3", srv.TokensIssued(), srv.OpenAPICount(dingtalktest.UploadPath))
	}
	t.Run("bad type", func(t *testing.T) {
		if _, err := a.UploadMedia(ctx, "sticker", "x", strings.NewReader("x")); err == nil {
			t.Error("accepted")
		}
	})
	t.Run("too large", func(t *testing.T) {
		_, err := a.UploadMedia(ctx, "file", "big", bytes.NewReader(make([]byte, MaxUploadBytes+1)))
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("server error retried", func(t *testing.T) {
		// In a bubble (the fake made outside it: its listener blocks on a
		// socket) the retry's backoff passes in fake time.
		synctest.Test(t, func(t *testing.T) {
			a := fakeOpenAPI(t, srv)
			srv.FailOpenAPI(dingtalktest.UploadPath, 502, "", 1)
			before := srv.OpenAPICount(dingtalktest.UploadPath)
			if _, err := a.UploadMedia(t.Context(), "file", "x.txt", strings.NewReader("x")); err != nil {
				t.Fatal(err)
			}
			if n := srv.OpenAPICount(dingtalktest.UploadPath) - before; n != 2 {
				t.Errorf("%d upload calls, want 2 (the 502, then the retry)", n)
			}
		})
	})
	t.Run("refused twice", func(t *testing.T) {
		srv.FailOpenAPI(dingtalktest.UploadPath, 200, `{"errcode":40014,"errmsg":"不合法的access_token"}`, 2)
		_, err := a.UploadMedia(ctx, "file", "x.txt", strings.NewReader("x"))
		if !errors.Is(err, picoclaw.ErrAuth) || strings.Contains(err.Error(), "access_token=") {
			t.Errorf("err = %v", err)
		}
	})
}
