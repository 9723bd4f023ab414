package scalar_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
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
	ok := []any{"12.34", "7", "-0.5", "007", 42, int64(-1), json.Number("15")}
	for _, v := range ok {
		if _, err := scalar.UnmarshalDecimal(v); err != nil {
			t.Errorf("UnmarshalDecimal(%#v): %v", v, err)
		}
	}
	// Strict: what is sent is exactly what it means.
	bad := []any{12.5, json.Number("1.5"), "1e3", "abc", "", true, nil,
		"+5", " 5", "5 ", " 7 ", "\t1", ".5", "5.", "-.5", "--5", "1_000", "0x10", "١٢", "5,00"}
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

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want int64
	}{
		{int64(5), 5}, {5, 5}, {json.Number("-7"), -7}, {json.Number("2147483647"), math.MaxInt32},
		{int64(math.MinInt32), math.MinInt32}, {float64(12), 12}, {nil, 0},
	} {
		n, err := scalar.UnmarshalInt64(tc.in)
		if err != nil || n != tc.want {
			t.Errorf("UnmarshalInt64(%#v) = %d, %v; want %d", tc.in, n, err, tc.want)
		}
		if m, err := scalar.UnmarshalInt(tc.in); err != nil || int64(m) != tc.want {
			t.Errorf("UnmarshalInt(%#v) = %d, %v; want %d", tc.in, m, err, tc.want)
		}
	}
	// The spec's Int: a number, whole, within 32 bits; never a string.
	for _, v := range []any{"5", "", json.Number("2147483648"), int64(math.MinInt32 - 1), int64(1 << 40),
		json.Number("9223372036854775808"), json.Number("1.5"), json.Number("1e3"), 1.5, float64(1 << 40), true, []any{1}} {
		_, err := scalar.UnmarshalInt64(v)
		if game.ErrorCode(err) != game.EINVALID || !strings.HasPrefix(game.ErrorMessage(err), "Int: ") {
			t.Errorf("UnmarshalInt64(%#v) = %v, want BAD_USER_INPUT naming Int", v, err)
		}
		if _, err := scalar.UnmarshalInt(v); game.ErrorCode(err) != game.EINVALID {
			t.Errorf("UnmarshalInt(%#v) = %v, want BAD_USER_INPUT", v, err)
		}
	}
	if _, err := scalar.UnmarshalInt64(json.Number("9223372036854775808")); !strings.Contains(game.ErrorMessage(err), "out of range") {
		t.Errorf("2^63: %q should say it is out of range", game.ErrorMessage(err))
	}
	for _, v := range []any{"+1", " 1", "01", "1 "} {
		if _, err := scalar.UnmarshalID64(v); game.ErrorCode(err) != game.EINVALID {
			t.Errorf("UnmarshalID64(%#v) = %v, want BAD_USER_INPUT", v, err)
		}
	}
}
