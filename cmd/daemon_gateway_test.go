package cmd

import (
	"strings"
	"testing"
)

func TestCheckGatewayURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "",
		"http://127.0.0.1:8006":         "http://127.0.0.1:8006",
		"https://files.example.com/":    "https://files.example.com",
		"https://example.com/hub/files": "https://example.com/hub/files",
	} {
		got, err := checkGatewayURL(in)
		if err != nil || got != want {
			t.Errorf("checkGatewayURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"ftp://x", "127.0.0.1:8006", "http://", "https://u:p@example.com", "https://example.com/?token=x", "https://example.com/#x", "http://[::1"} {
		_, err := checkGatewayURL(in)
		if err == nil || exitCode(t.Context(), err) != ExitUsage || !strings.Contains(err.Error(), "--gateway-url") || strings.Contains(err.Error(), "\n") {
			t.Errorf("checkGatewayURL(%q): %v (exit %d), want a one-line usage error naming --gateway-url", in, err, exitCode(t.Context(), err))
		}
	}
}
