package scalar_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/scalar"
)

func TestDecimal(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"100000", "100000.00"}, {"0.5", "0.50"}, {"12.3456", "12.3456"}, {"-3.10", "-3.10"}, {"190.0000", "190.00"},
	} {
		var b bytes.Buffer
		scalar.MarshalDecimal(decimal.RequireFromString(tc.in)).MarshalGQL(&b)
		if b.String() != `"`+tc.out+`"` {
			t.Errorf("MarshalDecimal(%s) = %s, want %q", tc.in, b.String(), tc.out)
		}
	}
	ok := []any{"12.34", " 7 ", 42, int64(-1), json.Number("15")}
	for _, v := range ok {
		if _, err := scalar.UnmarshalDecimal(v); err != nil {
			t.Errorf("UnmarshalDecimal(%#v): %v", v, err)
		}
	}
	bad := []any{12.5, json.Number("1.5"), "1e3", "abc", "", true, nil}
	for _, v := range bad {
		if _, err := scalar.UnmarshalDecimal(v); game.ErrorCode(err) != game.EINVALID {
			t.Errorf("UnmarshalDecimal(%#v) = %v, want BAD_USER_INPUT", v, err)
		}
	}
}

func TestTimeAndID(t *testing.T) {
	var b bytes.Buffer
	scalar.MarshalTime(time.Date(2026, 3, 2, 9, 30, 0, 5e6, time.FixedZone("x", 3600))).MarshalGQL(&b)
	if b.String() != `"2026-03-02T08:30:00.005Z"` {
		t.Errorf("MarshalTime = %s", b.String())
	}
	if _, err := scalar.UnmarshalTime("yesterday"); game.ErrorCode(err) != game.EINVALID {
		t.Errorf("bad time: %v", err)
	}
	if tm, err := scalar.UnmarshalTime("2026-03-02T10:30:00+01:00"); err != nil || tm.Location() != time.UTC || tm.Hour() != 9 {
		t.Errorf("UnmarshalTime = %v, %v", tm, err)
	}
	for _, v := range []any{"0", "-1", "x", 1.5, 0, -3} {
		if _, err := scalar.UnmarshalID64(v); game.ErrorCode(err) != game.EINVALID {
			t.Errorf("UnmarshalID64(%#v) = %v", v, err)
		}
	}
	if id, err := scalar.UnmarshalID64("77"); err != nil || id != 77 {
		t.Errorf("UnmarshalID64 = %d, %v", id, err)
	}
}
