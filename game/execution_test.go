package game_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db/dbtest"
	"github.com/bullpen/bullpen/game"
)

// quote ticks symbol with a two-sided market.
func (h *harness) quote(symbol, price, bid, ask string, volume int64) {
	h.t.Helper()
	if _, err := h.svc.TickQuote(h.ctx, game.PriceTick{Symbol: symbol, Price: dec(price), Bid: dec(bid), Ask: dec(ask), Volume: volume}); err != nil {
		h.t.Fatalf("tick %s %s: %v", symbol, price, err)
	}
}

// fillLine renders a fill as "qty@price mid spread slippage impact commission".
func fillLine(f game.Fill) string {
	return fmt.Sprintf("%d@%s mid %s spread %s slippage %s impact %s commission %s",
		f.Quantity, f.Price, f.MidPrice, f.SpreadCost, f.SlippageCost, f.ImpactCost, f.Commission)
}

func (h *harness) fills(o *game.Order) []string {
	h.t.Helper()
	fs, err := h.store.Fills(h.ctx, o.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, fillLine(f))
	}
	return out
}

// TestExecutionPresetsFillByHand pins one buy and one sell of 500 shares
// under each preset against a quote of 100.00 (bid 99.98, ask 100.04,
// volume 10,000), each figure computed by hand:
//   - FRICTIONLESS: at the last price, 100.00; no costs.
//   - REALISTIC (spread 10 bps, slippage 2 bps, impact 0.5, volume 10%):
//     mid (99.98+100.04)/2 = 100.01; the touch is 0.03 away, less than
//     5 bps of the mid (0.050005, up to 0.0501); slippage 0.020002, up to
//     0.0201; impact 0.5 x (500/10000)^2 = 0.00125 of the mid = 0.1250125,
//     up to 0.1251. 0.1953 a share: a buy at 100.2053, a sell at 99.8147;
//     for 500 shares spread 25.05, slippage 10.05, impact 62.55.
//   - THIN_BOOK (50 bps, 10 bps, 5, volume 2%): 200 of the 500 fill (2% of
//     10,000); spread 0.250025 -> 0.2501, slippage 0.10001 -> 0.1001,
//     impact 5 x (200/10000)^2 x 100.01 = 0.20002 -> 0.2001: 0.5503 a
//     share, a buy at 100.5603 and a sell at 99.4597; for 200 shares
//     50.02, 20.02 and 40.02. The rest, 300, stays PARTIALLY_FILLED.
func TestExecutionPresetsFillByHand(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice := h.user("owner"), h.user("alice")
			h.quote("AAPL", "100.00", "99.98", "100.04", 10_000)
			for _, tc := range []struct {
				preset     game.ExecutionPreset
				buy, sell  string
				status     game.OrderStatus
				commission string
			}{
				{game.ExecutionFrictionless,
					"500@100 mid 100 spread 0 slippage 0 impact 0 commission 1.5",
					"500@100 mid 100 spread 0 slippage 0 impact 0 commission 1.5", game.OrderStatusFilled, "1.5"},
				{game.ExecutionRealistic,
					"500@100.2053 mid 100.01 spread 25.05 slippage 10.05 impact 62.55 commission 1.5",
					"500@99.8147 mid 100.01 spread 25.05 slippage 10.05 impact 62.55 commission 1.5", game.OrderStatusFilled, "1.5"},
				{game.ExecutionThinBook,
					"200@100.5603 mid 100.01 spread 50.02 slippage 20.02 impact 40.02 commission 1.5",
					"200@99.4597 mid 100.01 spread 50.02 slippage 20.02 impact 40.02 commission 1.5", game.OrderStatusPartiallyFilled, "1.5"},
			} {
				t.Run(string(tc.preset), func(t *testing.T) {
					room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
						in.Commission, in.AllowShortSelling = decp("1.5"), ptr(true)
						in.Execution = &game.ExecutionInput{Preset: &tc.preset}
					}, alice)
					seq := h.lastSeq(room.ID)
					b := h.order(alice, buy(room.ID, "AAPL", 500))
					s := h.order(alice, sell(room.ID, "AAPL", 500))
					for _, x := range []struct {
						o    *game.Order
						want string
					}{{b, tc.buy}, {s, tc.sell}} {
						if got := h.fills(x.o); !slices.Equal(got, []string{x.want}) {
							t.Errorf("%s fills %q, want %q", x.o.Side, got, x.want)
						}
						if x.o.Status != tc.status || x.o.Commission.String() != tc.commission {
							t.Errorf("%s is %s paying %s, want %s paying %s", x.o.Side, x.o.Status, x.o.Commission, tc.status, tc.commission)
						}
					}
					kind := "ORDER:FILLED"
					if tc.status == game.OrderStatusPartiallyFilled {
						kind = "ORDER:PARTIALLY_FILLED"
					}
					if got, want := h.kinds(room.ID, seq), []string{kind, "POSITION", kind, "POSITION"}; !slices.Equal(got, want) {
						t.Errorf("events %v, want %v", got, want)
					}
					h.checkLedger(room.ID)
				})
			}
		})
	}
}

// TestPartialFillAcrossThreeTicks: a market buy of 250 in a room that lets
// an order take 10% of a tick's volume fills 100 at 50, 100 at 51 and the
// last 50 at 52 (a tick of 600 would allow 60), one event per fill; it
// pays its commission once, and holds back what its rest may cost at the
// price it last filled at.
func TestPartialFillAcrossThreeTicks(t *testing.T) {
	for _, backend := range dbtest.Backends() {
		t.Run(backend, func(t *testing.T) {
			h := openHarnessDSN(t, dbtest.Open(t, backend), clockwork.NewFakeClockAt(t0))
			owner, alice := h.user("owner"), h.user("alice")
			room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
				in.Commission = decp("1")
				in.Execution = &game.ExecutionInput{VolumeLimitPercent: decp("10")}
			}, alice)
			h.quote("AAPL", "50", "50", "50", 1000)
			seq := h.lastSeq(room.ID)
			o := h.order(alice, buy(room.ID, "AAPL", 250))
			if o.Status != game.OrderStatusPartiallyFilled || o.FilledQuantity != 100 || !o.Reserved.Equal(dec("7500")) {
				t.Fatalf("placed: %s, %d filled, holding %s; want PARTIALLY_FILLED, 100, 150 x 50 = 7500", o.Status, o.FilledQuantity, o.Reserved)
			}
			h.quote("AAPL", "51", "51", "51", 1000)
			h.quote("AAPL", "52", "52", "52", 600)
			got, err := h.store.Order(h.ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"100@50 mid 50 spread 0 slippage 0 impact 0 commission 1",
				"100@51 mid 51 spread 0 slippage 0 impact 0 commission 0",
				"50@52 mid 52 spread 0 slippage 0 impact 0 commission 0",
			}
			if fills := h.fills(got); !slices.Equal(fills, want) {
				t.Errorf("fills %q, want %q", fills, want)
			}
			fills, _ := h.svc.OrderFills(h.ctx, got)
			if got.Status != game.OrderStatusFilled || got.FilledQuantity != 250 || !got.FilledPrice.Equal(dec("52")) ||
				!got.Commission.Equal(dec("1")) || !got.Reserved.IsZero() || game.AverageFillPrice(fills).String() != "50.8" {
				t.Errorf("order %s, %d filled, last at %s, commission %s, holding %s, average %s; want FILLED, 250, 52, 1, 0, 12700/250 = 50.8",
					got.Status, got.FilledQuantity, got.FilledPrice, got.Commission, got.Reserved, game.AverageFillPrice(fills))
			}
			if p := h.participant(room.ID, alice); !p.Cash.Equal(dec("87299")) {
				t.Errorf("cash %s, want 100000 - 12700 - 1 = 87299", p.Cash)
			}
			if got, want := h.kinds(room.ID, seq), []string{"ORDER:PARTIALLY_FILLED", "POSITION", "ORDER:PARTIALLY_FILLED", "POSITION", "ORDER:FILLED", "POSITION"}; !slices.Equal(got, want) {
				t.Errorf("events %v, want %v", got, want)
			}
			// Each event's order carries the fills it has made so far.
			var carried []int
			for _, ev := range h.events(room.ID) {
				if ev.Sequence > seq && ev.Kind == game.EventOrder {
					var p game.OrderPayload
					mustUnmarshal(t, ev.Payload, &p)
					carried = append(carried, len(p.Order.Fills))
				}
			}
			if !slices.Equal(carried, []int{1, 2, 3}) {
				t.Errorf("the events' orders carry %v fills, want 1, 2, 3", carried)
			}
			h.checkLedger(room.ID)
		})
	}
}

// TestPartiallyFilledOrderCancels: cancelling the rest of a part-filled
// order keeps what filled and releases what the rest held back.
func TestPartiallyFilledOrderCancels(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
		in.Execution = &game.ExecutionInput{VolumeLimitPercent: decp("10")}
	}, alice)
	h.quote("AAPL", "50", "50", "50", 1000)
	o := h.order(alice, buy(room.ID, "AAPL", 250))
	c, err := h.svc.CancelOrder(h.ctx, alice, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != game.OrderStatusCancelled || c.FilledQuantity != 100 || !c.Reserved.IsZero() {
		t.Errorf("cancelled: %s, %d filled, holding %s; want CANCELLED, 100, nothing", c.Status, c.FilledQuantity, c.Reserved)
	}
	if pos := h.position(room.ID, alice, "AAPL"); pos.Quantity != 100 {
		t.Errorf("position %d, want the 100 that filled", pos.Quantity)
	}
	if v := h.value(room.ID, alice); !v.BuyingPower.Equal(dec("95000")) {
		t.Errorf("buying power %s, want 100000 - 5000", v.BuyingPower)
	}
	h.price("AAPL", "49")
	if got := h.fills(c); len(got) != 1 {
		t.Errorf("a cancelled order filled again: %q", got)
	}
	h.checkLedger(room.ID)
}

// TestLimitOrderWaitsForRoomForCosts: a buy limit the last price is within
// does not fill when the costs take its price past the limit; it rests,
// and fills on a price that leaves room for them, never above the limit.
func TestLimitOrderWaitsForRoomForCosts(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
		in.Execution = &game.ExecutionInput{Preset: ptr(game.ExecutionRealistic)}
	}, alice)
	h.quote("AAPL", "100.00", "99.98", "100.04", 10_000)
	// mid 100.01; spread max(0.03, 0.050005 -> 0.0501); slippage 0.020002
	// -> 0.0201; impact 0.5 x (100/10000)^2 x 100.01 = 0.0050005 ->
	// 0.0051: 100.0853, above the limit though the last price is below.
	o := h.order(alice, limit(buy(room.ID, "AAPL", 100), "100.05"))
	if o.Status != game.OrderStatusOpen {
		t.Fatalf("placed %s, want OPEN: 100 at 100.0853 is above 100.05", why(o))
	}
	h.quote("AAPL", "99.90", "99.88", "99.94", 10_000)
	got, err := h.store.Order(h.ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != game.OrderStatusFilled || got.FilledPrice.GreaterThan(dec("100.05")) {
		t.Fatalf("after a lower quote: %s at %v, want FILLED at most 100.05", got.Status, got.FilledPrice)
	}
	// mid 99.91; spread max(0.03, 0.049955 -> 0.05) = 0.05; slippage
	// 0.019982 -> 0.02; impact 0.5 x (100/10000)^2 x 99.91 = 0.0049955 ->
	// 0.005: 99.985.
	if !got.FilledPrice.Equal(dec("99.985")) {
		t.Errorf("filled at %s, want 99.985", got.FilledPrice)
	}
	h.checkLedger(room.ID)
}

// TestSaleNeverBelowATick: costs larger than a tiny price give way so that
// a sale's price stays 0.0001 or more, and the price identity still holds.
func TestSaleNeverBelowATick(t *testing.T) {
	h := newHarness(t)
	owner, alice := h.user("owner"), h.user("alice")
	room := h.activeRoom(owner, func(in *game.CreateBullPenInput) {
		in.AllowShortSelling = ptr(true)
		in.Execution = &game.ExecutionInput{Preset: ptr(game.ExecutionThinBook), SlippageBps: ptr(1000), PriceImpact: decp("100")}
	}, alice)
	h.quote("AAPL", "0.01", "0.01", "0.01", 100)
	o := h.order(alice, sell(room.ID, "AAPL", 2))
	fs := h.fills(o)
	// mid 0.01; spread 0.01 x 25 bps = 0.000025 -> 0.0001; slippage 0.001;
	// impact 100 x (2/100)^2 x 0.01 = 0.0004: 0.0015 would leave 0.0085.
	if want := []string{"2@0.0085 mid 0.01 spread 0.0002 slippage 0.002 impact 0.0008 commission 0"}; !slices.Equal(fs, want) {
		t.Errorf("fills %q, want %q", fs, want)
	}
	h.quote("AAPL", "0.0002", "0.0002", "0.0002", 100)
	o = h.order(alice, sell(room.ID, "AAPL", 2))
	if fs := h.fills(o); !slices.Equal(fs, []string{"2@0.0001 mid 0.0002 spread 0.0002 slippage 0 impact 0 commission 0"}) {
		t.Errorf("fills %q, want the spread to take all but 0.0001 of the price and nothing else", fs)
	}
}

func TestExecutionValidation(t *testing.T) {
	h := newHarness(t)
	owner := h.user("owner")
	for _, tc := range []struct {
		in    game.ExecutionInput
		field string
	}{
		{game.ExecutionInput{Preset: ptr(game.ExecutionPreset("SLOW"))}, "execution.preset"},
		{game.ExecutionInput{SpreadBps: ptr(-1)}, "execution.spreadBps"},
		{game.ExecutionInput{SpreadBps: ptr(1001)}, "execution.spreadBps"},
		{game.ExecutionInput{SlippageBps: ptr(-5)}, "execution.slippageBps"},
		{game.ExecutionInput{PriceImpact: decp("-0.1")}, "execution.priceImpact"},
		{game.ExecutionInput{PriceImpact: decp("0.00001")}, "execution.priceImpact"},
		{game.ExecutionInput{VolumeLimitPercent: decp("0")}, "execution.volumeLimitPercent"},
		{game.ExecutionInput{VolumeLimitPercent: decp("100.5")}, "execution.volumeLimitPercent"},
	} {
		_, err := h.svc.CreateBullPen(h.ctx, owner, game.CreateBullPenInput{Name: "x", EndsAt: t0.Add(24 * 3600e9), Execution: &tc.in})
		var e *game.Error
		if game.ErrorCode(err) != game.EINVALID || !asError(err, &e) || e.Field != tc.field {
			t.Errorf("%+v: %v, want BAD_USER_INPUT naming %s", tc.in, err, tc.field)
		}
	}
	// Explicit fields override the preset's.
	b, err := h.svc.CreateBullPen(h.ctx, owner, game.CreateBullPenInput{Name: "x", EndsAt: t0.Add(24 * 3600e9),
		Execution: &game.ExecutionInput{Preset: ptr(game.ExecutionThinBook), SpreadBps: ptr(0)}})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := h.store.BullPen(h.ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	e := stored.Execution
	if e.Preset != game.ExecutionThinBook || e.SpreadBps != 0 || e.SlippageBps != 10 || !e.PriceImpact.Equal(dec("5")) ||
		e.VolumeLimitPercent == nil || !e.VolumeLimitPercent.Equal(dec("2")) {
		t.Errorf("stored %+v, want THIN_BOOK with spreadBps 0", e)
	}
}

func TestSetQuoteTwoSided(t *testing.T) {
	h := newHarness(t)
	admin := h.user("admin")
	if _, err := h.svc.SetAdmin(h.ctx, "admin", true); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in    game.QuoteInput
		field string
	}{
		{game.QuoteInput{Bid: decp("100.01")}, "bid"},
		{game.QuoteInput{Ask: decp("99.99")}, "ask"},
		{game.QuoteInput{Bid: decp("-1")}, "bid"},
		{game.QuoteInput{Volume: ptr(int64(0))}, "volume"},
		{game.QuoteInput{Volume: ptr(int64(game.MaxVolume + 1))}, "volume"},
	} {
		_, err := h.svc.SetQuote(h.ctx, admin, "AAPL", dec("100"), tc.in)
		var e *game.Error
		if game.ErrorCode(err) != game.EINVALID || !asError(err, &e) || e.Field != tc.field {
			t.Errorf("%+v: %v, want BAD_USER_INPUT naming %s", tc.in, err, tc.field)
		}
	}
	if _, err := h.store.Quote(h.ctx, "AAPL"); game.ErrorCode(err) != game.ENOTFOUND {
		t.Fatalf("a refused setQuote stored a quote: %v", err)
	}
	q, err := h.svc.SetQuote(h.ctx, admin, "AAPL", dec("100"), game.QuoteInput{})
	if err != nil || !q.Bid.Equal(dec("100")) || !q.Ask.Equal(dec("100")) || q.Volume != game.DefaultVolume {
		t.Fatalf("setQuote with no sides: %+v %v, want bid = ask = 100, volume %d", q, err, game.DefaultVolume)
	}
	q, err = h.svc.SetQuote(h.ctx, admin, "AAPL", dec("100"), game.QuoteInput{Bid: decp("99.9"), Ask: decp("100.2"), Volume: ptr(int64(1234))})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := h.store.Quote(h.ctx, "AAPL")
	if err != nil || !stored.Bid.Equal(dec("99.9")) || !stored.Ask.Equal(dec("100.2")) || stored.Volume != 1234 {
		t.Errorf("stored %+v %v, want bid 99.9, ask 100.2, volume 1234", stored, err)
	}
}
