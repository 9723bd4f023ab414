package game

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// pfDec parses an exact decimal literal; it panics on a typo in a test table.
func pfDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// pfCheckDec fails the test unless got equals want exactly (by value, so
// 1.50 equals 1.5).
func pfCheckDec(t *testing.T, what string, got, want decimal.Decimal) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got.String(), want.String())
	}
}

func TestApplyFill(t *testing.T) {
	updated := time.Date(2024, 3, 1, 14, 30, 0, 0, time.UTC)
	// pos builds a position with fixed identity, market price and time so
	// every case also checks that ApplyFill leaves them alone.
	pos := func(qty int64, cost, realized string) Position {
		return Position{
			ParticipantID: 7,
			Symbol:        "ACME",
			Quantity:      qty,
			CostBasis:     pfDec(cost),
			RealizedPnL:   pfDec(realized),
			UpdatedAt:     updated,
			MarketPrice:   pfDec("99.99"),
		}
	}
	tests := []struct {
		name  string
		start Position
		side  Side
		qty   int64
		price string

		wantQty         int64
		wantCost        string
		wantRealizedPnL string // cumulative, on the position
		wantRealized    string // returned for this fill
	}{
		{
			name: "OpenLong", start: pos(0, "0", "0"), side: SideBuy, qty: 10, price: "100.25",
			wantQty: 10, wantCost: "1002.5", wantRealizedPnL: "0", wantRealized: "0",
		},
		{
			name: "OpenLongFromZeroValuePosition", start: Position{}, side: SideBuy, qty: 1, price: "0.0001",
			wantQty: 1, wantCost: "0.0001", wantRealizedPnL: "0", wantRealized: "0",
		},
		{
			name: "AddToLong", start: pos(10, "1002.5", "3"), side: SideBuy, qty: 5, price: "101.1",
			wantQty: 15, wantCost: "1508", wantRealizedPnL: "3", wantRealized: "0",
		},
		{
			name: "PartialCloseLongRealizesProfit", start: pos(10, "1000", "5"), side: SideSell, qty: 4, price: "110",
			wantQty: 6, wantCost: "600", wantRealizedPnL: "45", wantRealized: "40",
		},
		{
			name: "PartialCloseLongRealizesLoss", start: pos(10, "1000", "0"), side: SideSell, qty: 3, price: "95.5",
			wantQty: 7, wantCost: "700", wantRealizedPnL: "-13.5", wantRealized: "-13.5",
		},
		{
			// 10.0001 * 1 / 3 = 3.33336666... -> 3.3334
			name: "PartialCloseRoundsRemovedCostTo4Places", start: pos(3, "10.0001", "0"), side: SideSell, qty: 1, price: "4",
			wantQty: 2, wantCost: "6.6667", wantRealizedPnL: "0.6666", wantRealized: "0.6666",
		},
		{
			// 0.0005 / 2 = 0.00025 -> half-even 0.0002 (half-up would be 0.0003)
			name: "RemovedCostRoundsHalfEvenDown", start: pos(2, "0.0005", "0"), side: SideSell, qty: 1, price: "1",
			wantQty: 1, wantCost: "0.0003", wantRealizedPnL: "0.9998", wantRealized: "0.9998",
		},
		{
			// 0.0003 / 2 = 0.00015 -> half-even 0.0002
			name: "RemovedCostRoundsHalfEvenUp", start: pos(2, "0.0003", "0"), side: SideSell, qty: 1, price: "1",
			wantQty: 1, wantCost: "0.0001", wantRealizedPnL: "0.9998", wantRealized: "0.9998",
		},
		{
			// 30.0003 is not a multiple of 3 at 4 places per share; closing
			// everything must still take all of it.
			name: "CloseAllRemovesExactCostBasis", start: pos(3, "30.0002", "1"), side: SideSell, qty: 3, price: "11",
			wantQty: 0, wantCost: "0", wantRealizedPnL: "3.9998", wantRealized: "2.9998",
		},
		{
			name: "CloseAllShortRemovesExactCostBasis", start: pos(-3, "30.0002", "0"), side: SideBuy, qty: 3, price: "9",
			wantQty: 0, wantCost: "0", wantRealizedPnL: "3.0002", wantRealized: "3.0002",
		},
		{
			name: "FlipLongToShort", start: pos(10, "1000", "0"), side: SideSell, qty: 15, price: "120",
			wantQty: -5, wantCost: "600", wantRealizedPnL: "200", wantRealized: "200",
		},
		{
			name: "FlipShortToLong", start: pos(-4, "200", "10"), side: SideBuy, qty: 6, price: "45",
			wantQty: 2, wantCost: "90", wantRealizedPnL: "30", wantRealized: "20",
		},
		{
			name: "OpenShort", start: pos(0, "0", "0"), side: SideSell, qty: 7, price: "12.3456",
			wantQty: -7, wantCost: "86.4192", wantRealizedPnL: "0", wantRealized: "0",
		},
		{
			name: "AddToShort", start: pos(-7, "86.4192", "0"), side: SideSell, qty: 3, price: "12",
			wantQty: -10, wantCost: "122.4192", wantRealizedPnL: "0", wantRealized: "0",
		},
		{
			name: "CoverShortAtLoss", start: pos(-10, "500", "0"), side: SideBuy, qty: 4, price: "55",
			wantQty: -6, wantCost: "300", wantRealizedPnL: "-20", wantRealized: "-20",
		},
		{
			name: "CoverShortAtProfit", start: pos(-10, "500", "-1"), side: SideBuy, qty: 10, price: "40.0001",
			wantQty: 0, wantCost: "0", wantRealizedPnL: "98.999", wantRealized: "99.999",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.start
			got, realized := ApplyFill(tt.start, tt.side, tt.qty, pfDec(tt.price))
			if got.Quantity != tt.wantQty {
				t.Errorf("Quantity = %d, want %d", got.Quantity, tt.wantQty)
			}
			pfCheckDec(t, "CostBasis", got.CostBasis, pfDec(tt.wantCost))
			pfCheckDec(t, "RealizedPnL", got.RealizedPnL, pfDec(tt.wantRealizedPnL))
			pfCheckDec(t, "realized", realized, pfDec(tt.wantRealized))
			if got.ParticipantID != before.ParticipantID || got.Symbol != before.Symbol {
				t.Errorf("identity changed: got %d/%q, want %d/%q", got.ParticipantID, got.Symbol, before.ParticipantID, before.Symbol)
			}
			if !got.UpdatedAt.Equal(before.UpdatedAt) {
				t.Errorf("UpdatedAt = %v, want untouched %v", got.UpdatedAt, before.UpdatedAt)
			}
			pfCheckDec(t, "MarketPrice", got.MarketPrice, before.MarketPrice)
			if got.CostBasis.IsNegative() {
				t.Errorf("CostBasis = %s, want >= 0", got.CostBasis)
			}
		})
	}
}

func TestApplyFillRoundingSumsExactly(t *testing.T) {
	type fill struct {
		side  Side
		qty   int64
		price string
	}
	tests := []struct {
		name  string
		fills []fill
	}{
		{
			name: "ThirdsRoundingSumsExactly",
			fills: []fill{
				{SideBuy, 3, "10.0001"},
				{SideSell, 1, "10.5"}, {SideSell, 1, "10.5"}, {SideSell, 1, "10.5"},
			},
		},
		{
			// Cost 30.0001: a third is 10.000033..., so each partial close
			// rounds and the last close must absorb the difference.
			name: "ThirdsOfUnevenCostSumsExactly",
			fills: []fill{
				{SideBuy, 1, "10.0001"}, {SideBuy, 2, "10"},
				{SideSell, 1, "9.9999"}, {SideSell, 1, "10.0003"}, {SideSell, 1, "11"},
			},
		},
		{
			name: "SeventhsOfShortSumsExactly",
			fills: []fill{
				{SideSell, 4, "3.3333"}, {SideSell, 3, "3.3334"},
				{SideBuy, 1, "3"}, {SideBuy, 2, "3.0001"}, {SideBuy, 1, "2.9999"}, {SideBuy, 3, "3.1"},
			},
		},
		{
			name: "ManySmallClosesSumExactly",
			fills: []fill{
				{SideBuy, 97, "1.2347"},
				{SideSell, 13, "1.3"}, {SideSell, 29, "1.2"}, {SideSell, 1, "1.2346"}, {SideSell, 54, "1.5"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Position
			sumRealized := decimal.Zero
			cashFlow := decimal.Zero // sells - buys, no commission
			for i, f := range tt.fills {
				var r decimal.Decimal
				p, r = ApplyFill(p, f.side, f.qty, pfDec(f.price))
				sumRealized = sumRealized.Add(r)
				cashFlow = cashFlow.Add(CashDelta(f.side, f.qty, pfDec(f.price), decimal.Zero))
				if !p.CostBasis.Equal(p.CostBasis.Truncate(MoneyPlaces)) {
					t.Errorf("after fill %d CostBasis %s has more than %d places", i, p.CostBasis, MoneyPlaces)
				}
			}
			if p.Quantity != 0 {
				t.Fatalf("scenario must end flat, Quantity = %d", p.Quantity)
			}
			pfCheckDec(t, "final CostBasis", p.CostBasis, decimal.Zero)
			pfCheckDec(t, "sum of realized", sumRealized, cashFlow)
			pfCheckDec(t, "RealizedPnL", p.RealizedPnL, cashFlow)
		})
	}
}

// TestApplyFillConservesMoney drives a position through random fills and
// checks after each one that realized plus unrealized profit equals the
// cash the fills moved plus what the open shares are worth, exactly.
func TestApplyFillConservesMoney(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 50 {
		var p Position
		sumRealized := decimal.Zero
		cashFlow := decimal.Zero
		for i := range 200 {
			side := SideBuy
			if rng.IntN(2) == 0 {
				side = SideSell
			}
			qty := int64(1 + rng.IntN(40))
			price := decimal.New(int64(1+rng.IntN(2_000_000)), -MoneyPlaces) // 0.0001 .. 200.0000
			var r decimal.Decimal
			p, r = ApplyFill(p, side, qty, price)
			sumRealized = sumRealized.Add(r)
			cashFlow = cashFlow.Add(CashDelta(side, qty, price, decimal.Zero))

			p.MarketPrice = decimal.New(int64(1+rng.IntN(2_000_000)), -MoneyPlaces)
			lhs := p.RealizedPnL.Add(p.UnrealizedPnL())
			rhs := cashFlow.Add(p.MarketValue())
			if !lhs.Equal(rhs) {
				t.Fatalf("run %d fill %d: realized+unrealized = %s, want cash flow + market value = %s", run, i, lhs, rhs)
			}
			if !sumRealized.Equal(p.RealizedPnL) {
				t.Fatalf("run %d fill %d: sum of returned realized = %s, RealizedPnL = %s", run, i, sumRealized, p.RealizedPnL)
			}
			if p.CostBasis.IsNegative() {
				t.Fatalf("run %d fill %d: CostBasis = %s, want >= 0", run, i, p.CostBasis)
			}
			if p.Quantity == 0 && !p.CostBasis.IsZero() {
				t.Fatalf("run %d fill %d: flat with CostBasis %s", run, i, p.CostBasis)
			}
			if !p.CostBasis.Equal(p.CostBasis.Truncate(MoneyPlaces)) {
				t.Fatalf("run %d fill %d: CostBasis %s has more than %d places", run, i, p.CostBasis, MoneyPlaces)
			}
		}
	}
}

func TestApplyFillPanicsOnBadInput(t *testing.T) {
	tests := []struct {
		name string
		side Side
		qty  int64
	}{
		{"ZeroQuantity", SideBuy, 0},
		{"NegativeQuantity", SideSell, -5},
		{"UnknownSide", Side("HOLD"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("ApplyFill(%q, %d) did not panic", tt.side, tt.qty)
				}
			}()
			ApplyFill(Position{Quantity: 10, CostBasis: pfDec("100")}, tt.side, tt.qty, pfDec("10"))
		})
	}
}

func TestPositionValuation(t *testing.T) {
	tests := []struct {
		name       string
		qty        int64
		cost       string
		market     string
		wantAvg    string
		wantValue  string
		wantUnreal string
	}{
		{name: "Flat", qty: 0, cost: "0", market: "50", wantAvg: "0", wantValue: "0", wantUnreal: "0"},
		{name: "LongInProfit", qty: 10, cost: "1000", market: "120.5", wantAvg: "100", wantValue: "1205", wantUnreal: "205"},
		{name: "LongAtLoss", qty: 4, cost: "400.0004", market: "90", wantAvg: "100.0001", wantValue: "360", wantUnreal: "-40.0004"},
		{name: "ShortInProfit", qty: -10, cost: "1000", market: "80", wantAvg: "100", wantValue: "-800", wantUnreal: "200"},
		{name: "ShortAtLoss", qty: -5, cost: "500", market: "110.0001", wantAvg: "100", wantValue: "-550.0005", wantUnreal: "-50.0005"},
		{name: "AverageCostRoundsTo4Places", qty: 3, cost: "10", market: "3", wantAvg: "3.3333", wantValue: "9", wantUnreal: "-1"},
		{name: "AverageCostRoundsHalfEvenDown", qty: 2, cost: "0.0005", market: "0", wantAvg: "0.0002", wantValue: "0", wantUnreal: "-0.0005"},
		{name: "AverageCostRoundsHalfEvenUp", qty: -2, cost: "0.0003", market: "0", wantAvg: "0.0002", wantValue: "0", wantUnreal: "0.0003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Position{Quantity: tt.qty, CostBasis: pfDec(tt.cost), MarketPrice: pfDec(tt.market)}
			pfCheckDec(t, "AverageCost", p.AverageCost(), pfDec(tt.wantAvg))
			pfCheckDec(t, "MarketValue", p.MarketValue(), pfDec(tt.wantValue))
			pfCheckDec(t, "UnrealizedPnL", p.UnrealizedPnL(), pfDec(tt.wantUnreal))
		})
	}
}

func TestPortfolioValue(t *testing.T) {
	tests := []struct {
		name      string
		cash      string
		positions []Position
		want      string
	}{
		{name: "CashOnly", cash: "100000", positions: nil, want: "100000"},
		{
			name: "LongAddsShortSubtracts", cash: "1000.5",
			positions: []Position{
				{Symbol: "A", Quantity: 10, MarketPrice: pfDec("12.3456")},
				{Symbol: "B", Quantity: -3, MarketPrice: pfDec("100.0001")},
				{Symbol: "C", Quantity: 0, MarketPrice: pfDec("999")},
			},
			want: "823.9557", // 1000.5 + 123.456 - 300.0003
		},
		{
			name: "ZeroMarketPriceIsWorthless", cash: "0",
			positions: []Position{{Symbol: "A", Quantity: 10}},
			want:      "0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pfCheckDec(t, "PortfolioValue", PortfolioValue(pfDec(tt.cash), tt.positions), pfDec(tt.want))
		})
	}
}

func TestReturns(t *testing.T) {
	tests := []struct {
		name        string
		value       string
		start       string
		wantReturn  string
		wantPercent string
	}{
		{name: "Gain", value: "110000", start: "100000", wantReturn: "10000", wantPercent: "10"},
		{name: "Loss", value: "75000.25", start: "100000", wantReturn: "-24999.75", wantPercent: "-24.9998"},
		{name: "Unchanged", value: "5000", start: "5000", wantReturn: "0", wantPercent: "0"},
		{name: "RepeatingRoundsTo4Places", value: "4", start: "3", wantReturn: "1", wantPercent: "33.3333"},
		{name: "NegativeRepeatingRoundsTo4Places", value: "1", start: "3", wantReturn: "-2", wantPercent: "-66.6667"},
		// 0.005*100/10000 = 0.00005: half-even gives 0, half-up would give 0.0001.
		{name: "HalfRoundsToEvenDown", value: "10000.005", start: "10000", wantReturn: "0.005", wantPercent: "0"},
		// 0.015*100/10000 = 0.00015 -> 0.0002
		{name: "HalfRoundsToEvenUp", value: "10000.015", start: "10000", wantReturn: "0.015", wantPercent: "0.0002"},
		{name: "NegativeHalfRoundsToEven", value: "9999.985", start: "10000", wantReturn: "-0.015", wantPercent: "-0.0002"},
		{name: "ZeroStartingCash", value: "50", start: "0", wantReturn: "50", wantPercent: "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pfCheckDec(t, "TotalReturn", TotalReturn(pfDec(tt.value), pfDec(tt.start)), pfDec(tt.wantReturn))
			pfCheckDec(t, "ReturnPercent", ReturnPercent(pfDec(tt.value), pfDec(tt.start)), pfDec(tt.wantPercent))
		})
	}
}

func TestCashDelta(t *testing.T) {
	tests := []struct {
		name       string
		side       Side
		qty        int64
		price      string
		commission string
		want       string
	}{
		{name: "BuyPaysPriceAndCommission", side: SideBuy, qty: 10, price: "12.3456", commission: "1.5", want: "-124.956"},
		{name: "SellReceivesPriceLessCommission", side: SideSell, qty: 10, price: "12.3456", commission: "1.5", want: "121.956"},
		{name: "BuyWithoutCommission", side: SideBuy, qty: 3, price: "0.0001", commission: "0", want: "-0.0003"},
		{name: "SellWithoutCommission", side: SideSell, qty: 1_000_000, price: "9999.9999", commission: "0", want: "9999999900"},
		{name: "CommissionExceedsProceeds", side: SideSell, qty: 1, price: "0.5", commission: "1", want: "-0.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CashDelta(tt.side, tt.qty, pfDec(tt.price), pfDec(tt.commission))
			pfCheckDec(t, "CashDelta", got, pfDec(tt.want))
		})
	}
}

func TestDivRoundHalfEven(t *testing.T) {
	tests := []struct {
		name     string
		num, den string
		want     string
	}{
		{name: "Exact", num: "10", den: "4", want: "2.5"},
		{name: "BelowHalf", num: "1", den: "3", want: "0.3333"},
		{name: "AboveHalf", num: "2", den: "3", want: "0.6667"},
		{name: "HalfToEvenDown", num: "0.00025", den: "1", want: "0.0002"},
		{name: "HalfToEvenUp", num: "0.00035", den: "1", want: "0.0004"},
		{name: "NegativeNumerator", num: "-2", den: "3", want: "-0.6667"},
		{name: "NegativeDenominator", num: "2", den: "-3", want: "-0.6667"},
		{name: "BothNegative", num: "-2", den: "-3", want: "0.6667"},
		{name: "NegativeHalfToEven", num: "-0.00015", den: "1", want: "-0.0002"},
		// Just below a half by far less than 16 digits can show: Div then
		// RoundBank would see 0.00015 and round up.
		{name: "JustBelowHalfIsNotDoubleRounded", num: "1499999999999999999", den: "10000000000000000000000", want: "0.0001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pfCheckDec(t, tt.num+"/"+tt.den, divRoundHalfEven(pfDec(tt.num), pfDec(tt.den), MoneyPlaces), pfDec(tt.want))
		})
	}
}
