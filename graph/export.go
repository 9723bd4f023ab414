package graph

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/game"
	"github.com/bullpen/bullpen/graph/scalar"
)

// Results export: a room's standings and fills as CSV, for spreadsheets.
// Each request reads through the caller's game.View, so the rules of
// queries apply: the standings to whoever sees the room (as the
// leaderboard), the fills as BullPen.orders shows them.

// ResultsCSVPath, TradesCSVPath and IntegrityCSVPath are the export
// routes (net/http patterns without a method: Exports answers GET, and
// CORS preflights).
const (
	ResultsCSVPath   = "/rooms/{id}/results.csv"
	TradesCSVPath    = "/rooms/{id}/trades.csv"
	IntegrityCSVPath = "/rooms/{id}/integrity.csv"
)

// ResultsHeader and TradesHeader are the first rows of the exports.
var (
	ResultsHeader = []string{"rank", "user", "portfolioValue", "cash", "totalReturn", "returnPercent",
		"maxDrawdownPercent", "volatilityPercent", "sharpeRatio", "tradeCount", "winRate", "removed",
		"team", "teamRank", "teamScore"}
	TradesHeader = []string{"time", "user", "symbol", "side", "quantity", "price", "commission", "orderId",
		"midPrice", "spreadCost", "slippageCost", "impactCost", "note"}
	// IntegrityHeader: one row per piece of a flag's evidence (see
	// integrityRows).
	IntegrityHeader = []string{"flag", "kind", "score", "participants", "user", "orderId", "time", "detail"}
)

// Exports serves GET ResultsCSVPath and TradesCSVPath, authenticated as
// /query is (a bad token: 401 with the same UNAUTHENTICATED body), and
// open to the same browser origins (CORS).
func (h *Handler) Exports() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ResultsCSVPath, h.r.exportCSV("results", h.r.resultRows))
	mux.HandleFunc("GET "+TradesCSVPath, h.r.exportCSV("trades", h.r.tradeRows))
	mux.HandleFunc("GET "+IntegrityCSVPath, h.r.exportCSV("integrity", h.r.integrityRows))
	return CORS(h.WS.CheckOrigin, h.r.authenticate(func(*http.Request) bool { return false }, mux))
}

// exportCSV answers one export: 404 with one body for a room that does not
// exist and one the caller may not see (the message of NOT_FOUND in the
// API, naming the id asked), else the CSV as an attachment.
func (r *Resolver) exportCSV(name string, rows func(context.Context, *game.View) ([][]string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		ctx := req.Context()
		id, err := strconv.ParseInt(req.PathValue("id"), 10, 64)
		if err != nil || id < 1 {
			http.Error(w, fmt.Sprintf("bull pen %q not found", req.PathValue("id")), http.StatusNotFound)
			return
		}
		user, _ := currentUser(ctx) // a bad token was refused already
		var out [][]string
		v, err := r.Svc.View(ctx, user, id)
		if err == nil {
			out, err = rows(ctx, v)
		}
		if game.ErrorCode(err) == game.ENOTFOUND {
			http.Error(w, game.ErrorMessage(err), http.StatusNotFound)
			return
		} else if err != nil {
			if r.Log != nil {
				r.Log.Error("export", "room", id, "export", name, "err", err)
			}
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		var buf bytes.Buffer
		cw := csv.NewWriter(&buf)
		_ = cw.WriteAll(out) // a bytes.Buffer does not fail
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="bullpen-%d-%s.csv"`, id, name))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Access-Control-Expose-Headers", "Content-Disposition") // a page may read the filename
		_, _ = w.Write(buf.Bytes())
	}
}

// resultRows are the room's latest leaderboard snapshot (the final one once
// it has ended) with each entry's metrics, and the assignment columns of a
// room with assignments (see assignmentColumns); only the header before
// the first snapshot.
func (r *Resolver) resultRows(ctx context.Context, v *game.View) ([][]string, error) {
	grades, err := v.AssignmentProgress(ctx)
	if err != nil {
		return nil, err
	}
	out := [][]string{append(slices.Clone(ResultsHeader), assignmentHeader(grades.Assignments)...)}
	snap, err := v.Leaderboard(ctx)
	if err != nil || snap == nil {
		return out, err
	}
	teams := teamCells(snap)
	for _, e := range snap.Entries {
		u, err := r.Svc.User(ctx, e.UserID)
		if err != nil {
			return nil, err
		}
		// removed: when the owner ended the seat (removeParticipant),
		// empty while they play; the player keeps their rank.
		p, err := v.Participant(ctx, e.ParticipantID)
		if err != nil {
			return nil, err
		}
		removed := ""
		if p.RemovedAt != nil {
			removed = p.RemovedAt.UTC().Format(scalar.TimeFormat)
		}
		m := e.Metrics
		out = append(out, []string{strconv.Itoa(e.Rank), cell(u.Username), dec(e.PortfolioValue), dec(e.Cash),
			dec(e.TotalReturn), dec(e.ReturnPercent), dec(m.MaxDrawdownPercent), optDec(m.VolatilityPercent),
			optDec(m.SharpeRatio), strconv.Itoa(m.TradeCount), optDec(m.WinRate), removed})
		out[len(out)-1] = append(out[len(out)-1], teams(e.ParticipantID)...)
		out[len(out)-1] = append(out[len(out)-1], assignmentCells(grades, e.ParticipantID)...)
	}
	return out, nil
}

// Assignment columns of results.csv, after every other column, only in a
// room with assignments (so the header of a room without them is
// ResultsHeader): for the i-th assignment (from 1) a column named by the
// whole rule, a{i}_{kind}[_{orderType}]_{count} (a1_ORDERS_OF_TYPE_LIMIT_3,
// a2_MAX_DRAWDOWN_BELOW_10), holding done as Participant.assignments does,
// then a{i}_met (true or false); last, assignmentsMet: how many are met of
// how many ("3/4"). A participant whose orders the caller may not see gets
// these cells empty, as the API gives no progress.

// assignmentHeader names the assignment columns of a room's results.
func assignmentHeader(as []game.Assignment) []string {
	if len(as) == 0 {
		return nil
	}
	out := make([]string, 0, 2*len(as)+1)
	for i, a := range as {
		out = append(out, a.ColumnName(i+1), fmt.Sprintf("a%d_met", i+1))
	}
	return append(out, "assignmentsMet")
}

// assignmentCells are a participant's assignment columns.
func assignmentCells(grades *game.AssignmentBoard, participantID int64) []string {
	n := len(grades.Assignments)
	if n == 0 {
		return nil
	}
	out := make([]string, 0, 2*n+1)
	progress, ok := grades.Of(participantID)
	if !ok {
		return append(out, make([]string, 2*n+1)...)
	}
	met := 0
	for _, p := range progress {
		out = append(out, strconv.Itoa(p.Done), strconv.FormatBool(p.Met))
		if p.Met {
			met++
		}
	}
	return append(out, fmt.Sprintf("%d/%d", met, n))
}

// teamCells gives a participant's team columns of results.csv from the
// same snapshot as their row: the team's name, rank and score on its
// team board, empty when the room has no teams or the player was in none
// when it was taken.
func teamCells(snap *game.LeaderboardSnapshot) func(participantID int64) []string {
	of := map[int64]game.TeamStanding{}
	for _, ts := range snap.Teams {
		for _, id := range ts.Team.MemberIDs {
			of[id] = ts
		}
	}
	return func(participantID int64) []string {
		ts, ok := of[participantID]
		if !ok {
			return []string{"", "", ""}
		}
		return []string{cell(ts.Team.Name), strconv.Itoa(ts.Rank), dec(ts.Score)}
	}
}

// tradeRows are the fills the viewer may see, oldest first, each with what
// its price is made of.
func (r *Resolver) tradeRows(ctx context.Context, v *game.View) ([][]string, error) {
	out := [][]string{TradesHeader}
	trades, err := v.Trades(ctx)
	if err != nil {
		return nil, err
	}
	users := map[int64]string{}
	for _, t := range trades {
		o, f := t.Order, t.Fill
		name, ok := users[o.ParticipantID]
		if !ok {
			p, err := v.Participant(ctx, o.ParticipantID)
			if err != nil {
				return nil, err
			}
			u, err := r.Svc.User(ctx, p.UserID)
			if err != nil {
				return nil, err
			}
			name = u.Username
			users[o.ParticipantID] = name
		}
		out = append(out, []string{f.At.UTC().Format(scalar.TimeFormat), cell(name), o.Symbol, string(o.Side),
			strconv.FormatInt(f.Quantity, 10), dec(f.Price), dec(f.Commission), strconv.FormatInt(o.ID, 10),
			dec(f.MidPrice), dec(f.SpreadCost), dec(f.SlippageCost), dec(f.ImpactCost), noteCell(o.Note)})
	}
	return out, nil
}

// integrityRows are the room's integrity report for its owner, one row
// per piece of evidence: flag (its number in the report, from 1), kind,
// score, participants (the usernames the flag names, space-separated),
// then the piece: user (whom it is about), orderId (empty for an address),
// time (the fill's time; for an address, when the account was first seen
// there) and detail. Anyone else gets the 404 of a room that does not
// exist, as BullPen.integrityReport is null for them.
func (r *Resolver) integrityRows(ctx context.Context, v *game.View) ([][]string, error) {
	rep, err := v.IntegrityReport(ctx) // NOT_FOUND but for the owner
	if err != nil {
		return nil, err
	}
	out := [][]string{IntegrityHeader}
	names := map[int64]string{}
	name := func(p *game.Participant) (string, error) {
		if n, ok := names[p.ID]; ok {
			return n, nil
		}
		u, err := r.Svc.User(ctx, p.UserID)
		if err != nil {
			return "", err
		}
		names[p.ID] = u.Username
		return u.Username, nil
	}
	for i, f := range rep.Flags {
		var who []string
		byID := map[int64]*game.Participant{}
		for _, p := range f.Participants {
			n, err := name(p)
			if err != nil {
				return nil, err
			}
			who, byID[p.ID] = append(who, n), p
		}
		for _, l := range f.Lines {
			user, err := name(byID[l.ParticipantID])
			if err != nil {
				return nil, err
			}
			order := ""
			if l.OrderID != 0 {
				order = strconv.FormatInt(l.OrderID, 10)
			}
			out = append(out, []string{strconv.Itoa(i + 1), string(f.Kind), dec(f.Score), cell(strings.Join(who, " ")),
				cell(user), order, l.At.UTC().Format(scalar.TimeFormat), cell(l.Detail)})
		}
	}
	return out, nil
}

// noteCell writes an order's note (its trade journal entry), none as an
// empty cell, guarded as every text cell is.
func noteCell(note *string) string {
	if note == nil {
		return ""
	}
	return cell(*note)
}

// dec writes a Decimal as the API does.
func dec(d decimal.Decimal) string { return scalar.FormatDecimal(d) }

// optDec writes a nullable Decimal, null as an empty cell.
func optDec(d *decimal.Decimal) string {
	if d == nil {
		return ""
	}
	return dec(*d)
}

// cell guards a text cell against spreadsheet formulas: one that starts
// with =, +, -, @ or a tab gets a leading apostrophe (OWASP's CSV
// injection advice). Numbers are written as they are.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
