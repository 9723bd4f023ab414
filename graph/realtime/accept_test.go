package realtime

import "testing"

func TestEventStreamAccepted(t *testing.T) {
	for _, c := range []struct {
		accept              string
		preferred, accepted bool
	}{
		{"text/event-stream", true, true},
		{"text/event-stream, application/json", true, true},
		{"application/json, text/event-stream", false, true},
		{"application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed", false, true},
		{"application/json;q=0.5, text/event-stream", true, true},
		{"text/event-stream;q=0.5, */*", false, true},
		{"text/event-stream;q=0", false, false},
		{"text/event-stream;q=nope", false, false},
		{"application/json", false, false},
		{"", false, false},
		{"*/*", false, false},
	} {
		p, a := EventStreamAccepted(c.accept)
		if p != c.preferred || a != c.accepted {
			t.Errorf("EventStreamAccepted(%q) = %v, %v; want %v, %v", c.accept, p, a, c.preferred, c.accepted)
		}
	}
}
