package scalar_test

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/scalar"
)

// FuzzDecimal feeds arbitrary text to the Decimal scalar, as a JSON string
// and as a JSON number. It must never panic; what it accepts it must read
// exactly (checked against math/big) and within the documented form (at
// most 40 characters: an optional '-', ASCII digits, and optionally '.'
// and digits, with no '+', space or exponent; a JSON number only as an
// integer); what
// it refuses it refuses with BAD_USER_INPUT and a message naming Decimal;
// and what it writes back must read back to the same value and the same
// text.
func FuzzDecimal(f *testing.F) {
	for _, s := range []string{
		"12.34", " 7 ", "-3.10", "0", "-0", "0.0001", "100000.00", "1e3", "1E-3", "abc", "", " ", ".5", "5.", "-.5",
		"+1", "++1", "1..2", "0x10", "1_000", "NaN", "Inf", "-", "١٢", "\t1\n", "1/2",
		"9999999999999999999999999999999999999999", "99999999999999999999999999999999999999999",
		"0.000000000000000000000000000000000000001", "-9223372036854775808", "18446744073709551616",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkDecimal(t, s, s)
		checkDecimal(t, json.Number(s), s)
	})
}

func checkDecimal(t *testing.T, v any, s string) {
	d, err := scalar.UnmarshalDecimal(v)
	if err != nil {
		if game.ErrorCode(err) != game.EINVALID || !strings.HasPrefix(game.ErrorMessage(err), "Decimal: ") {
			t.Fatalf("UnmarshalDecimal(%#v) = %v; want a BAD_USER_INPUT error naming Decimal", v, err)
		}
		return
	}
	text := s
	if _, isString := v.(string); !isString && strings.ContainsAny(s, ".eE") {
		t.Fatalf("UnmarshalDecimal(json.Number(%q)) = %s; a JSON number with a fraction or exponent must be refused", s, d)
	}
	if len(text) > 40 || !decimalForm(text) {
		t.Fatalf("UnmarshalDecimal(%#v) = %s; want it refused (over 40 characters, or not an optional '-', digits and an optional '.' and digits)", v, d)
	}
	want, ok := new(big.Rat).SetString(text)
	if !ok {
		t.Fatalf("UnmarshalDecimal(%#v) = %s, but %q is not a number", v, d, text)
	}
	if d.Rat().Cmp(want) != 0 {
		t.Fatalf("UnmarshalDecimal(%#v) = %s; want exactly %s", v, d, want.RatString())
	}

	// What the server writes reads back to the same value and text.
	var b bytes.Buffer
	scalar.MarshalDecimal(d).MarshalGQL(&b)
	out, err := strconv.Unquote(b.String())
	if err != nil || !json.Valid(b.Bytes()) {
		t.Fatalf("MarshalDecimal(%s) = %s: not a JSON string", d, b.String())
	}
	back, err := decimal.NewFromString(out)
	if err != nil || !back.Equal(d) {
		t.Fatalf("MarshalDecimal(%s) = %s, which reads back as %s (%v)", d, out, back, err)
	}
	if len(out) <= 40 {
		again, err := scalar.UnmarshalDecimal(out)
		if err != nil || !again.Equal(d) || scalar.FormatDecimal(again) != out {
			t.Fatalf("UnmarshalDecimal(%q) = %s, %v; want %s written the same", out, again, err, d)
		}
	}
}

// decimalForm is the documented form of a Decimal, written out by hand
// rather than with the scalar's own pattern.
func decimalForm(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(s, ".")
	digits := func(p string) bool {
		for _, c := range []byte(p) {
			if c < '0' || c > '9' {
				return false
			}
		}
		return p != ""
	}
	return digits(whole) && (!dot || digits(frac))
}
