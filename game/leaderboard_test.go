package game

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// lbWant is the expected line of a ranking; decimals are exact literals.
type lbWant struct {
	rank          int
	participantID int64
	value         string
	cash          string
	totalReturn   string
	returnPercent string
}

func lbCheck(t *testing.T, got []LeaderboardEntry, want []lbWant) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Rank != w.rank || g.ParticipantID != w.participantID {
			t.Errorf("entry %d: rank %d participant %d, want rank %d participant %d", i, g.Rank, g.ParticipantID, w.rank, w.participantID)
		}
		pfCheckDec(t, "entry PortfolioValue", g.PortfolioValue, pfDec(w.value))
		pfCheckDec(t, "entry Cash", g.Cash, pfDec(w.cash))
		pfCheckDec(t, "entry TotalReturn", g.TotalReturn, pfDec(w.totalReturn))
		pfCheckDec(t, "entry ReturnPercent", g.ReturnPercent, pfDec(w.returnPercent))
	}
}

func TestRank(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)
	at := func(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }
	cashOnly := func(id int64, joined time.Time, cash string) Standing {
		return Standing{ParticipantID: id, UserID: id * 100, JoinedAt: joined, Cash: pfDec(cash)}
	}

	tests := []struct {
		name      string
		start     string
		standings []Standing
		want      []lbWant
	}{
		{
			name:      "Empty",
			start:     "100000",
			standings: []Standing{},
			want:      []lbWant{},
		},
		{
			name:      "Nil",
			start:     "100000",
			standings: nil,
			want:      []lbWant{},
		},
		{
			name:      "Single",
			start:     "100000",
			standings: []Standing{cashOnly(1, at(0), "100000")},
			want:      []lbWant{{1, 1, "100000", "100000", "0", "0"}},
		},
		{
			// 2 and 3 tie on 110000; 3 joined first so it is listed first.
			name:  "TiesShareRankAndSkip",
			start: "100000",
			standings: []Standing{
				cashOnly(1, at(0), "100000"),
				cashOnly(2, at(5), "110000"),
				cashOnly(3, at(1), "110000"),
			},
			want: []lbWant{
				{1, 3, "110000", "110000", "10000", "10"},
				{1, 2, "110000", "110000", "10000", "10"},
				{3, 1, "100000", "100000", "0", "0"},
			},
		},
		{
			name:  "TieInMiddle",
			start: "1000",
			standings: []Standing{
				cashOnly(4, at(0), "900"),
				cashOnly(3, at(0), "1000.00"), // equal in value to 1000
				cashOnly(2, at(0), "1000"),
				cashOnly(1, at(0), "1100"),
			},
			want: []lbWant{
				{1, 1, "1100", "1100", "100", "10"},
				{2, 2, "1000", "1000", "0", "0"},
				{2, 3, "1000", "1000", "0", "0"},
				{4, 4, "900", "900", "-100", "-10"},
			},
		},
		{
			// All tied: ordered by JoinedAt, then ParticipantID when JoinedAt
			// is equal too.
			name:  "AllEqual",
			start: "500",
			standings: []Standing{
				cashOnly(9, at(3), "500"),
				cashOnly(8, at(1), "500"),
				cashOnly(5, at(2), "500"),
				cashOnly(2, at(2), "500"),
			},
			want: []lbWant{
				{1, 8, "500", "500", "0", "0"},
				{1, 2, "500", "500", "0", "0"},
				{1, 5, "500", "500", "0", "0"},
				{1, 9, "500", "500", "0", "0"},
			},
		},
		{
			// 1 holds the most cash but owes 100 shares at 600, so is worth
			// 150000 - 60000; 2 is long and worth 70000 + 30000 + 12.345.
			name:  "ShortsValuedNegative",
			start: "100000",
			standings: []Standing{
				{
					ParticipantID: 1, UserID: 10, JoinedAt: at(0), Cash: pfDec("150000"),
					Positions: []Position{{Symbol: "ACME", Quantity: -100, CostBasis: pfDec("50000"), MarketPrice: pfDec("600")}},
				},
				{
					ParticipantID: 2, UserID: 20, JoinedAt: at(1), Cash: pfDec("70000"),
					Positions: []Position{
						{Symbol: "ACME", Quantity: 50, CostBasis: pfDec("25000"), MarketPrice: pfDec("600")},
						{Symbol: "INIT", Quantity: 10, CostBasis: pfDec("10"), MarketPrice: pfDec("1.2345")},
					},
				},
			},
			want: []lbWant{
				// 12.345/100000*100 = 0.012345 -> half-even 0.0123
				{1, 2, "100012.345", "70000", "12.345", "0.0123"},
				{2, 1, "90000", "150000", "-10000", "-10"},
			},
		},
		{
			name:  "ReturnPercentRounding",
			start: "10000",
			standings: []Standing{
				cashOnly(1, at(0), "10000.005"), // 0.00005 -> 0 (half-even, not 0.0001)
				cashOnly(2, at(0), "10000.015"), // 0.00015 -> 0.0002
				cashOnly(3, at(0), "10003.3333"),
				cashOnly(4, at(0), "9999.985"), // -0.00015 -> -0.0002
				cashOnly(5, at(0), "6666.6667"),
			},
			want: []lbWant{
				{1, 3, "10003.3333", "10003.3333", "3.3333", "0.0333"},
				{2, 2, "10000.015", "10000.015", "0.015", "0.0002"},
				{3, 1, "10000.005", "10000.005", "0.005", "0"},
				{4, 4, "9999.985", "9999.985", "-0.015", "-0.0002"},
				{5, 5, "6666.6667", "6666.6667", "-3333.3333", "-33.3333"},
			},
		},
		{
			name:      "ZeroStartingCash",
			start:     "0",
			standings: []Standing{cashOnly(1, at(0), "5"), cashOnly(2, at(0), "-1")},
			want: []lbWant{
				{1, 1, "5", "5", "5", "0"},
				{2, 2, "-1", "-1", "-1", "0"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Rank(pfDec(tt.start), tt.standings)
			if got == nil {
				t.Fatalf("Rank returned nil, want a non-nil slice")
			}
			lbCheck(t, got, tt.want)
			byID := make(map[int64]Standing, len(tt.standings))
			for _, s := range tt.standings {
				byID[s.ParticipantID] = s
			}
			for _, e := range got {
				if e.UserID != byID[e.ParticipantID].UserID {
					t.Errorf("participant %d: UserID %d, want %d", e.ParticipantID, e.UserID, byID[e.ParticipantID].UserID)
				}
			}
		})
	}
}

func TestRankDoesNotMutateInput(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)
	standings := []Standing{
		{ParticipantID: 3, UserID: 30, JoinedAt: t0.Add(2 * time.Minute), Cash: pfDec("100"),
			Positions: []Position{{Symbol: "A", Quantity: -2, CostBasis: pfDec("20"), MarketPrice: pfDec("9.5")}}},
		{ParticipantID: 1, UserID: 10, JoinedAt: t0, Cash: pfDec("50"),
			Positions: []Position{{Symbol: "B", Quantity: 5, CostBasis: pfDec("50"), MarketPrice: pfDec("11")}}},
		{ParticipantID: 2, UserID: 20, JoinedAt: t0.Add(time.Minute), Cash: pfDec("105")},
	}
	clone := func(in []Standing) []Standing {
		out := make([]Standing, len(in))
		for i, s := range in {
			out[i] = s
			if s.Positions != nil {
				out[i].Positions = append([]Position(nil), s.Positions...)
			}
		}
		return out
	}
	before := clone(standings)

	got := Rank(pfDec("100"), standings)
	lbCheck(t, got, []lbWant{
		{1, 1, "105", "50", "5", "5"}, // joined before participant 2
		{1, 2, "105", "105", "5", "5"},
		{3, 3, "81", "100", "-19", "-19"},
	})

	if !reflect.DeepEqual(standings, before) {
		t.Errorf("Rank modified its input:\n got %+v\nwant %+v", standings, before)
	}
	// Changing the output must not reach back into the input either.
	got[0].Cash = pfDec("-1")
	if !reflect.DeepEqual(standings, before) {
		t.Errorf("output aliases input:\n got %+v\nwant %+v", standings, before)
	}
}

func TestRankIsDeterministic(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)
	a := []Standing{
		{ParticipantID: 4, JoinedAt: t0, Cash: pfDec("10")},
		{ParticipantID: 2, JoinedAt: t0, Cash: pfDec("10")},
		{ParticipantID: 3, JoinedAt: t0.Add(-time.Second), Cash: pfDec("10.0")},
		{ParticipantID: 1, JoinedAt: t0, Cash: pfDec("9.9999")},
	}
	b := []Standing{a[3], a[1], a[0], a[2]}
	ga, gb := Rank(decimal.NewFromInt(10), a), Rank(decimal.NewFromInt(10), b)
	ids := func(es []LeaderboardEntry) []int64 {
		out := make([]int64, len(es))
		for i, e := range es {
			out[i] = e.ParticipantID
		}
		return out
	}
	want := []int64{3, 2, 4, 1}
	if !reflect.DeepEqual(ids(ga), want) || !reflect.DeepEqual(ids(gb), want) {
		t.Errorf("order = %v and %v, want %v for both input orders", ids(ga), ids(gb), want)
	}
}

// TestEncodedLeaderboardPayload: the payload a prepared snapshot stores,
// with its entries encoded beforehand, is byte for byte the JSON of the
// LeaderboardPayload that readers decode, with team standings or without.
func TestEncodedLeaderboardPayload(t *testing.T) {
	d := decimal.RequireFromString
	sharpe := d("1.25")
	standings := []Standing{
		{ParticipantID: 1, UserID: 10, Cash: d("900.50"), Positions: []Position{{Symbol: "AAPL", Quantity: 2, CostBasis: d("100"), MarketPrice: d("60.25")}}},
		{ParticipantID: 2, UserID: 11, Cash: d("1000")},
	}
	for _, teams := range [][]*Team{nil, {{ID: 4, BullPenID: 3, Name: "Bulls", MemberIDs: []int64{2, 1}}}} {
		snap := &LeaderboardSnapshot{ID: 7, BullPenID: 3, TakenAt: time.Date(2026, 11, 30, 8, 0, 0, 123456789, time.UTC), Final: true,
			Entries: RankBy(RankReturn, d("1000"), standings, true)}
		snap.Entries[0].Metrics.SharpeRatio = &sharpe
		if teams != nil {
			snap.Teams = RankTeams(TeamAverage, teams, snap.Entries)
		}
		want, err := json.Marshal(LeaderboardPayload{Snapshot: *snap})
		if err != nil {
			t.Fatal(err)
		}
		entries, err := json.Marshal(snap.Entries)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodedLeaderboardPayload(snap, entries)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("encoded payload\n%s\nwant\n%s", got, want)
		}
		if teams != nil && !strings.Contains(string(got), `"teams":[{"team":{"id":4`) {
			t.Errorf("no team standing in %s", got)
		}
	}
}
