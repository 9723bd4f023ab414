package market

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var replayErrRE = regexp.MustCompile(`^line ([0-9]+): .+`)

// FuzzReplayCSV feeds arbitrary files to the replay parser. It must never
// panic; it must refuse a file with an error naming a line of the file (or
// saying it has no price rows); and what it accepts must keep the rules of
// NewReplay (at least one row, ticker symbols, positive prices with at most
// 4 decimal places, timestamps in order) and read back the same when the
// rows are written out again.
func FuzzReplayCSV(f *testing.F) {
	for _, s := range []string{
		replayCSV,
		"timestamp,symbol,price\n",
		"\ufefftimestamp,symbol,price\n2025-03-14T09:30:00Z,AAPL,190.1234\n",
		"2025-03-14T09:30:00Z,aapl,1\n2025-03-14T09:30:00Z,brk.b,2.5\n",
		"2025-03-14T09:30:00+01:00, msft , 0.0001\r\n2025-03-14T08:30:00.5Z,MSFT,3\r\n",
		"2025-03-14T09:30:01Z,AAPL,1\n2025-03-14T09:30:00Z,AAPL,1\n",
		"2025-03-14T09:30:00Z,AAPL,1.00001\n",
		"2025-03-14T09:30:00Z,AAPL,0\n",
		"2025-03-14T09:30:00Z,AAPL,-1\n",
		"2025-03-14T09:30:00Z,AAPL,1e3\n",
		"2025-03-14T09:30:00Z,AAPL,.5\n",
		"2025-03-14T09:30:00Z,1AB,1\n",
		"2025-03-14T09:30:00Z,AAPL\n",
		"2025-03-14T09:30:00Z,AAPL,1,extra\n",
		"yesterday,AAPL,1\n",
		"\"2025-03-14T09:30:00Z\",\"AAPL\",\"1\"\n",
		"\"unterminated,AAPL,1\n",
		"a\"b,AAPL,1\n",
		"\n\n\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseReplay(bytes.NewReader(data))
		if err != nil {
			if rows != nil {
				t.Fatalf("parseReplay returned rows and %v", err)
			}
			msg := err.Error()
			if msg == "no price rows" {
				return
			}
			m := replayErrRE.FindStringSubmatch(msg)
			if m == nil {
				t.Fatalf("parseReplay error %q names no line", msg)
			}
			if n, _ := strconv.Atoi(m[1]); n < 1 || n > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("parseReplay error %q names a line the file (%d newlines) does not have", msg, bytes.Count(data, []byte("\n")))
			}
			return
		}
		if len(rows) == 0 {
			t.Fatal("parseReplay accepted a file with no rows")
		}
		var out strings.Builder
		for i, r := range rows {
			if !ValidSymbol(r.symbol) || !r.price.IsPositive() || -r.price.Exponent() > maxPriceDecimals {
				t.Fatalf("row %d accepted: %+v", i, r)
			}
			if i > 0 && r.at.Before(rows[i-1].at) {
				t.Fatalf("row %d at %s is before row %d at %s", i, r.at, i-1, rows[i-1].at)
			}
			fmt.Fprintf(&out, "%s,%s,%s\n", r.at.Format(time.RFC3339Nano), r.symbol, r.price.String())
		}
		again, err := parseReplay(strings.NewReader(out.String()))
		if err != nil || len(again) != len(rows) {
			t.Fatalf("the accepted rows written out do not read back: %v\n%s", err, out.String())
		}
		for i := range rows {
			if a, b := rows[i], again[i]; !a.at.Equal(b.at) || a.symbol != b.symbol || !a.price.Equal(b.price) {
				t.Fatalf("row %d read back as %+v, was %+v", i, b, a)
			}
		}
	})
}
