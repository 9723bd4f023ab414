package graph

import (
	"net/http"
	"testing"
)

func TestClientAddress(t *testing.T) {
	for _, tc := range []struct {
		name, remote, header, value, want string
	}{
		{"IPv4", "203.0.113.7:5123", "", "", "203.0.113.7"},
		{"IPv6By64", "[2001:db8:1:2:3:4:5:6]:443", "", "", "2001:db8:1:2::/64"},
		{"IPv4MappedIsIPv4", "[::ffff:203.0.113.7]:80", "", "", "203.0.113.7"},
		{"HeaderIgnoredWithoutFlag", "203.0.113.7:1", "", "198.51.100.1", "203.0.113.7"},
		{"LastOfTheList", "10.0.0.2:1", "X-Forwarded-For", "1.1.1.1, 198.51.100.1", "198.51.100.1"},
		{"SingleValue", "10.0.0.2:1", "X-Real-IP", "198.51.100.9", "198.51.100.9"},
		{"BracketedIPv6", "10.0.0.2:1", "X-Real-IP", "[2001:db8::1]", "2001:db8::/64"},
		{"ZoneDropped", "10.0.0.2:1", "X-Real-IP", "fe80::1%eth0", "fe80::/64"},
		{"GarbageFallsBack", "10.0.0.2:1", "X-Forwarded-For", "1.1.1.1, unknown", "10.0.0.2"},
		{"MissingFallsBack", "10.0.0.2:1", "X-Real-IP", "", "10.0.0.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			if tc.value != "" {
				r.Header.Set("X-Forwarded-For", tc.value)
				r.Header.Set("X-Real-IP", tc.value)
			}
			if got := ClientAddress(r, tc.header); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckClientIPHeader(t *testing.T) {
	for h, ok := range map[string]bool{"": true, "X-Forwarded-For": true, "CF-Connecting-IP": true, "X Real": false, "Forwarded": false, "a:b": false} {
		if err := CheckClientIPHeader(h); (err == nil) != ok {
			t.Errorf("%q: %v", h, err)
		}
	}
}
