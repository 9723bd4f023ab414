package graph

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
)

// ClientAddress is the address that per-address limits count a request
// under: the connection's remote IP, or, when header is set (only behind
// a reverse proxy that sets it), the last address in that header: the one
// the proxy itself saw, which a client cannot forge (X-Forwarded-For
// lists what earlier hops claimed first). A header that is missing or does
// not end in an IP address falls back to the remote IP.
//
// IPv4 addresses are counted one by one; IPv6 addresses by their /64
// prefix, the block one subscriber usually holds.
func ClientAddress(r *http.Request, header string) string {
	if header != "" {
		if vs := r.Header.Values(header); len(vs) > 0 {
			last := vs[len(vs)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if a, ok := parseIP(strings.TrimSpace(last)); ok {
				return addressKey(a)
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if a, ok := parseIP(host); ok {
		return addressKey(a)
	}
	return host
}

// parseIP reads an IP address, with or without brackets or a zone.
func parseIP(s string) (netip.Addr, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

func addressKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

var headerName = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

// CheckClientIPHeader checks the -client-ip-header setting: empty, or the
// name of a header that holds an address or a comma-separated list of
// them (X-Forwarded-For, X-Real-IP, CF-Connecting-IP, ...).
func CheckClientIPHeader(h string) error {
	if h == "" {
		return nil
	}
	if !headerName.MatchString(h) {
		return fmt.Errorf("%q is not a header name: want e.g. X-Forwarded-For or X-Real-IP", h)
	}
	if strings.EqualFold(h, "Forwarded") {
		return fmt.Errorf("the Forwarded header (RFC 7239) is not supported: have the proxy set X-Forwarded-For or X-Real-IP")
	}
	return nil
}
