package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A freshly onboarded config has empty keys: `agent` refuses to start
// with the key's field path instead of sending a request without a key,
// and `gateway` names the model key and the DingTalk credentials at once;
// `status` still works. Placeholder keys are refused the same way.
func TestFreshConfigKeysAreNamed(t *testing.T) {
	home := t.TempDir()
	getenv := func(k string) string { return map[string]string{"HOME": home}[k] }
	if code, _, errOut := runCLI(t, getenv, "", "onboard"); code != 0 {
		t.Fatalf("onboard: %s", errOut)
	}
	code, out, errOut := runCLI(t, getenv, "", "agent", "-m", "hello")
	if code == 0 || !strings.Contains(errOut, "model_list[0].api_key: is empty: put the API key of your openai account") {
		t.Errorf("agent on the fresh config: exit %d, out %q, err %q; want the empty key named", code, out, errOut)
	}
	if strings.Contains(out+errOut, "Sorry") || strings.Contains(errOut, "model call failed") {
		t.Errorf("agent called the model without a key: %q %q", out, errOut)
	}
	code, _, errOut = runCLI(t, getenv, "", "gateway")
	for _, want := range []string{"model_list[0].api_key: is empty", "client_id: required", "client_secret: required"} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("gateway on the fresh config: exit %d, %q; want %q", code, errOut, want)
		}
	}
	if code, _, errOut := runCLI(t, getenv, "", "status"); code != 0 {
		t.Errorf("status on the fresh config: exit %d: %s", code, errOut)
	}

	cfgPath := filepath.Join(home, ".picoclaw", "config.json")
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), `"api_key": ""`, `"api_key": "sk-..."`, 1)
	s = strings.Replace(s, `"client_id": ""`, `"client_id": "YOUR_CLIENT_ID"`, 1)
	s = strings.Replace(s, `"client_secret": ""`, `"client_secret": "YOUR_CLIENT_SECRET"`, 1)
	if err := os.WriteFile(cfgPath, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, getenv, "", "gateway")
	for _, want := range []string{`model_list[0].api_key: is the example placeholder "sk-..."`, `client_id: is the example placeholder "YOUR_CLIENT_ID"`, `client_secret: is the example placeholder`} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("gateway with placeholders: exit %d, %q; want %q", code, errOut, want)
		}
	}
}
