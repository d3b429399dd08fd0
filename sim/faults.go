package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"picoclaw/dingtalk/dingtalktest"
)

// Faults the page's buttons inject, by name.
const (
	FaultExpireWebhooks = "expire-webhooks" // the webhooks issued and the next one posted to answer 300001
	FaultDropStream     = "drop-stream"     // the Stream socket is cut
	FaultOpenAPIDown    = "openapi-down"    // robot sends and cards answer 503
	FaultOpenAPIUp      = "openapi-up"      // ends openapi-down
)

// outagePaths are the OpenAPI calls an outage fails: what answers use.
var outagePaths = []string{dingtalktest.BatchSendPath, dingtalktest.GroupSendPath,
	dingtalktest.CardCreatePath, dingtalktest.CardStreamingPath}

// FaultRequest is POST /api/fault.
type FaultRequest struct {
	Fault string `json:"fault"`
}

func (s *Sim) handleFault(w http.ResponseWriter, r *http.Request) {
	var req FaultRequest
	_ = json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req)
	switch req.Fault {
	case FaultExpireWebhooks:
		// Expired now, and the next post finds its webhook expired too:
		// an answer that took longer than its webhook lives (90 min).
		s.fake.ExpireWebhooks()
		s.fake.FailWebhook(dingtalktest.ErrcodeSessionMissing, 1)
		s.hub.log("fault", "session webhooks expired: the next answer finds its webhook gone and must go by the OpenAPI")
	case FaultDropStream:
		s.fake.CloseClientConnections()
		s.hub.log("fault", "Stream connection dropped: the gateway must reconnect (connections/open, then a new socket)")
	case FaultOpenAPIDown:
		for _, p := range outagePaths {
			s.fake.FailOpenAPIUntilRecovered(p, http.StatusServiceUnavailable, "")
		}
		s.setAPIDown(true)
		s.hub.log("fault", "OpenAPI down: robot sends and cards answer HTTP 503 until recovered (answers by webhook still work)")
	case FaultOpenAPIUp:
		for _, p := range outagePaths {
			s.fake.RecoverOpenAPI(p)
		}
		s.setAPIDown(false)
		s.hub.log("fault", "OpenAPI recovered: waiting answers go out on the gateway's next retry")
	default:
		writeError(w, http.StatusBadRequest, fmt.Errorf("fault: expected one of %s, %s, %s, %s; got %q",
			FaultExpireWebhooks, FaultDropStream, FaultOpenAPIDown, FaultOpenAPIUp, req.Fault))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"fault": req.Fault})
}

func (s *Sim) setAPIDown(down bool) {
	s.mu.Lock()
	s.apiDown = down
	s.mu.Unlock()
	s.publishStatus()
}
