package game_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/scalar"
)

// FuzzValidateOrder feeds arbitrary orders, their prices read by the
// Decimal scalar as the GraphQL layer reads them, to ValidateOrder. It must
// never panic; it must accept exactly the orders that keep API.md's rules
// (a ticker symbol, BUY or SELL, a known type, 1 to 1,000,000,000 shares,
// the prices the type needs and no others, each above 0, at most 4
// decimals and at most 1,000,000,000, a clientOrderId of 1 to 64
// characters; a TRAILING_STOP with exactly one of trailAmount (a price) and
// trailPercent (above 0, below 100, at most 4 decimals) and neither price,
// other types with neither trail; expiresAt on anything but MARKET); and
// it must refuse the others with BAD_USER_INPUT naming a field that is
// wrong. Whether expiresAt is in the future needs the clock: PlaceOrder
// checks it (TestExpiresAtValidation).
func FuzzValidateOrder(f *testing.F) {
	type seed struct {
		symbol, side, typ string
		hasType           bool
		qty               int64
		limit, stop, coid string
		hasCOID           bool
		trailAmount       string
		trailPercent      string
		hasExpiry         bool
	}
	for _, s := range []seed{
		{"AAPL", "BUY", "", false, 10, "", "", "", false, "", "", false},
		{" msft ", "SELL", "LIMIT", true, 1, "412.5", "", "k-1", true, "", "", false},
		{"BRK.B", "BUY", "STOP", true, 1_000_000_000, "", "300.0001", "", false, "", "", false},
		{"X", "SELL", "STOP_LIMIT", true, 5, "10", "11", strings.Repeat("é", 64), true, "", "", false},
		{"", "BUY", "", false, 1, "", "", "", false, "", "", false},
		{"1AB", "BUY", "", false, 1, "", "", "", false, "", "", false},
		{"ABCDEFGHIJK", "BUY", "", false, 1, "", "", "", false, "", "", false},
		{"AAPL", "HOLD", "", false, 1, "", "", "", false, "", "", false},
		{"AAPL", "BUY", "ICEBERG", true, 1, "", "", "", false, "", "", false},
		{"AAPL", "BUY", "", false, 0, "", "", "", false, "", "", false},
		{"AAPL", "BUY", "", false, -9223372036854775808, "", "", "", false, "", "", false},
		{"AAPL", "BUY", "", false, 1_000_000_001, "", "", "", false, "", "", false},
		{"AAPL", "BUY", "", false, 1, "1", "", "", false, "", "", false},
		{"AAPL", "BUY", "LIMIT", true, 1, "", "", "", false, "", "", false},
		{"AAPL", "BUY", "LIMIT", true, 1, "0", "", "", false, "", "", false},
		{"AAPL", "BUY", "LIMIT", true, 1, "-1", "", "", false, "", "", false},
		{"AAPL", "BUY", "LIMIT", true, 1, "1.00001", "", "", false, "", "", false},
		{"AAPL", "BUY", "LIMIT", true, 1, "1.00000", "", "", false, "", "", false},
		{"AAPL", "BUY", "LIMIT", true, 1, "1000000000.0001", "", "", false, "", "", false},
		{"AAPL", "BUY", "STOP", true, 1, "", "1e3", "", false, "", "", false},
		{"AAPL", "BUY", "", false, 1, "", "", "", true, "", "", false},
		{"AAPL", "BUY", "", false, 1, "", "", strings.Repeat("x", 65), true, "", "", false},
		{"aapl\u00a0", "BUY", "", false, 1, "", "", "\xff", true, "", "", false},
		{"ǅ", "BUY", "", false, 1, "", "", "", false, "", "", false},
		{"AAPL", "SELL", "TRAILING_STOP", true, 10, "", "", "", false, "2.5", "", true},
		{"AAPL", "BUY", "TRAILING_STOP", true, 10, "", "", "", false, "", "99.9999", false},
		{"AAPL", "BUY", "TRAILING_STOP", true, 10, "", "", "", false, "", "100", false},
		{"AAPL", "BUY", "TRAILING_STOP", true, 10, "", "", "", false, "", "0", false},
		{"AAPL", "BUY", "TRAILING_STOP", true, 10, "", "", "", false, "", "1.00001", false},
		{"AAPL", "BUY", "TRAILING_STOP", true, 10, "", "", "", false, "1", "1", false},
		{"AAPL", "BUY", "TRAILING_STOP", true, 10, "", "", "", false, "", "", false},
		{"AAPL", "BUY", "TRAILING_STOP", true, 10, "", "100", "", false, "1", "", false},
		{"AAPL", "BUY", "TRAILING_STOP", true, 10, "100", "", "", false, "", "5", false},
		{"AAPL", "BUY", "TRAILING_STOP", true, 10, "", "", "", false, "0.00001", "", false},
		{"AAPL", "BUY", "LIMIT", true, 10, "100", "", "", false, "1", "", true},
		{"AAPL", "BUY", "STOP", true, 10, "", "100", "", false, "", "1", false},
		{"AAPL", "BUY", "", false, 1, "", "", "", false, "", "", true},
		{"AAPL", "BUY", "STOP_LIMIT", true, 1, "10", "11", "", false, "", "", true},
	} {
		f.Add(s.symbol, s.side, s.typ, s.hasType, s.qty, s.limit, s.stop, s.coid, s.hasCOID, s.trailAmount, s.trailPercent, s.hasExpiry)
	}
	f.Fuzz(func(t *testing.T, symbol, side, typ string, hasType bool, qty int64, limit, stop, coid string, hasCOID bool, trailAmount, trailPercent string, hasExpiry bool) {
		in := game.PlaceOrderInput{BullPenID: 1, Symbol: symbol, Side: game.Side(side), Quantity: qty}
		if hasType {
			in.Type = (*game.OrderType)(&typ)
		}
		if hasCOID {
			in.ClientOrderID = &coid
		}
		if hasExpiry {
			in.ExpiresAt = ptr(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		}
		for _, p := range []struct {
			text string
			into **decimal.Decimal
		}{{limit, &in.LimitPrice}, {stop, &in.StopPrice}, {trailAmount, &in.TrailAmount}, {trailPercent, &in.TrailPercent}} {
			if p.text == "" {
				continue
			}
			d, err := scalar.UnmarshalDecimal(p.text)
			if err != nil {
				if game.ErrorCode(err) != game.EINVALID {
					t.Fatalf("UnmarshalDecimal(%q): %v", p.text, err)
				}
				return // the request is refused before it is an order
			}
			*p.into = &d
		}

		wrong := orderRulesBroken(in)
		got := in
		err := game.ValidateOrder(&got)
		if err == nil {
			if len(wrong) > 0 {
				t.Fatalf("ValidateOrder(%+v) accepted an order that breaks the rules for %v", in, wrong)
			}
			if got.Symbol != strings.ToUpper(strings.TrimSpace(symbol)) || got.Type == nil ||
				(in.Type == nil && *got.Type != game.OrderTypeMarket) || (in.Type != nil && *got.Type != *in.Type) {
				t.Fatalf("ValidateOrder normalised %+v to %+v", in, got)
			}
			again := got
			if err := game.ValidateOrder(&again); err != nil || again.Symbol != got.Symbol {
				t.Fatalf("ValidateOrder refuses its own normalised order %+v: %v", got, err)
			}
			return
		}
		var ge *game.Error
		if game.ErrorCode(err) != game.EINVALID || !asError(err, &ge) || ge.Field == "" || !strings.HasPrefix(ge.Message, ge.Field+": ") {
			t.Fatalf("ValidateOrder(%+v) = %v; want BAD_USER_INPUT naming the field", in, err)
		}
		if !slices.Contains(wrong, ge.Field) {
			t.Fatalf("ValidateOrder(%+v) blames %s (%s); the rules are broken for %v", in, ge.Field, ge.Message, wrong)
		}
	})
}

func asError(err error, into **game.Error) bool {
	e, ok := err.(*game.Error)
	*into = e
	return ok
}

var tickerRE = regexp.MustCompile(`^[A-Z][A-Z0-9.]{0,9}$`)

// orderRulesBroken names the fields of in that break API.md's order rules,
// written out independently of ValidateOrder.
func orderRulesBroken(in game.PlaceOrderInput) []string {
	var wrong []string
	if !tickerRE.MatchString(strings.ToUpper(strings.TrimSpace(in.Symbol))) {
		wrong = append(wrong, "symbol")
	}
	if in.Side != "BUY" && in.Side != "SELL" {
		wrong = append(wrong, "side")
	}
	if in.Quantity < 1 || in.Quantity > 1_000_000_000 {
		wrong = append(wrong, "quantity")
	}
	typ := game.OrderType("MARKET")
	if in.Type != nil {
		typ = *in.Type
	}
	needLimit, needStop := false, false
	switch typ {
	case "MARKET":
		if in.ExpiresAt != nil {
			wrong = append(wrong, "expiresAt")
		}
	case "TRAILING_STOP":
		if (in.TrailAmount == nil) == (in.TrailPercent == nil) {
			wrong = append(wrong, "trailAmount", "trailPercent")
		}
	case "LIMIT":
		needLimit = true
	case "STOP":
		needStop = true
	case "STOP_LIMIT":
		needLimit, needStop = true, true
	default:
		wrong = append(wrong, "type")
	}
	maxPrice := decimal.New(1, 9)
	for _, p := range []struct {
		field string
		d     *decimal.Decimal
		need  bool
	}{{"limitPrice", in.LimitPrice, needLimit}, {"stopPrice", in.StopPrice, needStop}} {
		switch {
		case p.d == nil && p.need, p.d != nil && !p.need:
			wrong = append(wrong, p.field)
		case p.d != nil && (p.d.Sign() <= 0 || !p.d.Shift(4).IsInteger() || p.d.GreaterThan(maxPrice)):
			wrong = append(wrong, p.field)
		}
	}
	if typ != "TRAILING_STOP" {
		if in.TrailAmount != nil {
			wrong = append(wrong, "trailAmount")
		}
		if in.TrailPercent != nil {
			wrong = append(wrong, "trailPercent")
		}
	}
	if a := in.TrailAmount; a != nil && (a.Sign() <= 0 || !a.Shift(4).IsInteger() || a.GreaterThan(maxPrice)) {
		wrong = append(wrong, "trailAmount")
	}
	if p := in.TrailPercent; p != nil && (p.Sign() <= 0 || !p.Shift(4).IsInteger() || !p.LessThan(decimal.New(100, 0))) {
		wrong = append(wrong, "trailPercent")
	}
	if in.ClientOrderID != nil {
		if n := utf8.RuneCountInString(*in.ClientOrderID); n < 1 || n > 64 {
			wrong = append(wrong, "clientOrderId")
		}
	}
	return wrong
}
