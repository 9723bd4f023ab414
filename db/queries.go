package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/game"
)

// queries implements game.Queries over the pool or a transaction.
type queries struct {
	ext     sqlx.ExtContext
	dialect Dialect
}

// writes are game.Tx's plain writes. Only Tx embeds them, over its own
// transaction: a write on the pool would skip the SQLite write lock, the
// row caches and the commit hooks (see Store.Update).
type writes struct{ queries }

func (q queries) rebind(query string) string {
	if q.dialect == Postgres {
		return sqlx.Rebind(sqlx.DOLLAR, query)
	}
	return query
}

// driverArgs puts args in the types database/sql hands a driver as they
// are (int64, string, bool, nil, time.Time in UTC): otherwise it asks each
// argument by reflection whether it is a driver.Valuer, and a snapshot of
// 5,000 participants has 65,000 arguments (18 ms of its write, most of it
// reflect.Implements and Decimal.Value). Decimals become their exact text,
// which is what Decimal.Value gives.
func driverArgs(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			args[i] = v.UTC()
		case *time.Time:
			args[i] = deref(v, time.Time.UTC)
		case decimal.Decimal:
			args[i] = v.String()
		case *decimal.Decimal:
			args[i] = deref(v, decimal.Decimal.String)
		case int:
			args[i] = int64(v)
		case *int:
			args[i] = deref(v, func(n int) int64 { return int64(n) })
		case *int64:
			args[i] = deref(v, func(n int64) int64 { return n })
		case *string:
			args[i] = deref(v, func(s string) string { return s })
		}
	}
	return args
}

// deref is nil for a nil p, else f of what p points to.
func deref[T, V any](p *T, f func(T) V) any {
	if p == nil {
		return nil
	}
	return f(*p)
}

func (q queries) get(ctx context.Context, dest any, what, query string, args ...any) error {
	err := sqlx.GetContext(ctx, q.ext, dest, q.rebind(query), driverArgs(args)...)
	if errors.Is(err, sql.ErrNoRows) {
		return &game.Error{Code: game.ENOTFOUND, Message: what + " not found"}
	}
	return err
}

func (q queries) sel(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, q.ext, dest, q.rebind(query), driverArgs(args)...)
}

func (q queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.ext.ExecContext(ctx, q.rebind(query), driverArgs(args)...)
}

// insertID runs an INSERT of one row and returns its id. SQLite's comes
// from the statement's result: RETURNING would run it as a query, whose
// rows cost about a third as much again as the insert (an order's
// insert, in the rooms profile).
func (q queries) insertID(ctx context.Context, query string, args ...any) (int64, error) {
	if q.dialect == SQLite {
		res, err := q.exec(ctx, query, args...)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	var id int64
	err := sqlx.GetContext(ctx, q.ext, &id, q.rebind(query+" RETURNING id"), driverArgs(args)...)
	return id, err
}

// Users

const userCols = `id, username, display_name, password_hash, created_at`

func (q queries) UserByID(ctx context.Context, id int64) (*game.User, error) {
	var u game.User
	return &u, q.get(ctx, &u, "user", `SELECT `+userCols+` FROM users WHERE id = ?`, id)
}

func (q queries) UserByUsername(ctx context.Context, username string) (*game.User, error) {
	var u game.User
	return &u, q.get(ctx, &u, "user", `SELECT `+userCols+` FROM users WHERE lower(username) = lower(?)`, username)
}

func (q queries) UsersByIDs(ctx context.Context, ids []int64) ([]*game.User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	query, args, err := sqlx.In(`SELECT `+userCols+` FROM users WHERE id IN (?)`, ids)
	if err != nil {
		return nil, err
	}
	var us []*game.User
	return us, q.sel(ctx, &us, query, args...)
}

func (q writes) InsertUser(ctx context.Context, u *game.User) (err error) {
	u.ID, err = q.insertID(ctx, `INSERT INTO users (username, display_name, password_hash, created_at) VALUES (?, ?, ?, ?)`,
		u.Username, u.DisplayName, u.PasswordHash, u.CreatedAt)
	return err
}

// UserIsAdmin reads the stored admin role of user id.
func (q queries) UserIsAdmin(ctx context.Context, id int64) (bool, error) {
	var admin bool
	return admin, q.get(ctx, &admin, "user", `SELECT admin FROM users WHERE id = ?`, id)
}

func (q queries) AdminUsers(ctx context.Context) ([]*game.User, error) {
	var us []*game.User
	return us, q.sel(ctx, &us, `SELECT `+userCols+` FROM users WHERE admin ORDER BY lower(username)`)
}

func (q writes) SetAdmin(ctx context.Context, id int64, admin bool) error {
	_, err := q.exec(ctx, `UPDATE users SET admin = ? WHERE id = ?`, admin, id)
	return err
}

// Sessions

const sessionCols = `id, user_id, created_at, expires_at, address_hash`

func (q queries) SessionUser(ctx context.Context, id string) (*game.User, error) {
	var u game.User
	return &u, q.get(ctx, &u, "session", `SELECT u.id, u.username, u.display_name, u.password_hash, u.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`, id)
}

func (q queries) Sessions(ctx context.Context, userID int64) ([]*game.Session, error) {
	var ss []*game.Session
	return ss, q.sel(ctx, &ss, `SELECT `+sessionCols+` FROM sessions WHERE user_id = ? ORDER BY created_at, id`, userID)
}

func (q writes) InsertSession(ctx context.Context, s *game.Session) error {
	_, err := q.exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?)`, s.ID, s.UserID, s.CreatedAt, s.ExpiresAt, s.AddressHash)
	return err
}

func (q writes) ExtendSession(ctx context.Context, id string, userID int64, expiresAt time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE sessions SET expires_at = ? WHERE id = ? AND user_id = ?`, expiresAt, id, userID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteSessions deletes sessions and, on PostgreSQL, tells the other
// instances (sessionsChannel) when the transaction commits.
func (tx *Tx) DeleteSessions(ctx context.Context, userID int64, ids []string) (int, error) {
	query, args := `DELETE FROM sessions WHERE user_id = ?`, []any{userID}
	if ids != nil {
		if len(ids) == 0 {
			return 0, nil
		}
		var err error
		query, args, err = sqlx.In(query+` AND id IN (?)`, userID, ids)
		if err != nil {
			return 0, err
		}
	}
	res, err := tx.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if n > 0 {
		err = tx.notify(ctx, sessionsChannel, strconv.FormatInt(userID, 10))
	}
	return int(n), err
}

// Bull pens

const bullPenCols = `id, name, description, owner_id, state, starts_at, ends_at, starting_cash, commission,
	allow_short_selling, allowed_symbols, max_participants, visibility, trade_visibility, invite_code,
	last_sequence, created_at, max_position_percent, min_share_price, max_orders_per_minute, max_open_orders, rank_by,
	maintenance_margin_percent, execution_preset, spread_bps, slippage_bps, price_impact, volume_limit_percent,
	cash_interest_percent, margin_interest_percent, borrow_fee_percent,
	trading_time_zone, trading_open, trading_close, trading_days, after_hours, max_quote_age_seconds, require_note,
	team_size, team_scoring`

type bullPenRow struct {
	game.BullPen
	Allowed sql.NullString `db:"allowed_symbols"`
	hoursRow
}

// hoursRow is a room's trading hours as stored: all four set, or none
// (always open).
type hoursRow struct {
	Zone  sql.NullString `db:"trading_time_zone"`
	Open  sql.NullString `db:"trading_open"`
	Close sql.NullString `db:"trading_close"`
	Days  sql.NullString `db:"trading_days"`
}

func (h hoursRow) domain() *game.TradingHours {
	if !h.Zone.Valid {
		return nil
	}
	days := []game.Weekday{}
	for d := range strings.SplitSeq(h.Days.String, ",") {
		days = append(days, game.Weekday(d))
	}
	return &game.TradingHours{TimeZone: h.Zone.String, Open: h.Open.String, Close: h.Close.String, Days: days}
}

func hoursOf(b *game.BullPen) (h hoursRow) {
	if t := b.TradingHours; t != nil {
		days := make([]string, len(t.Days))
		for i, d := range t.Days {
			days[i] = string(d)
		}
		h.Zone = sql.NullString{String: t.TimeZone, Valid: true}
		h.Open = sql.NullString{String: t.Open, Valid: true}
		h.Close = sql.NullString{String: t.Close, Valid: true}
		h.Days = sql.NullString{String: strings.Join(days, ","), Valid: true}
	}
	return h
}

func (r *bullPenRow) domain() *game.BullPen {
	b := r.BullPen
	if r.Allowed.Valid {
		b.AllowedSymbols = []string{}
		if r.Allowed.String != "" {
			b.AllowedSymbols = strings.Split(r.Allowed.String, ",")
		}
	}
	b.StartsAt, b.EndsAt, b.CreatedAt = b.StartsAt.UTC(), b.EndsAt.UTC(), b.CreatedAt.UTC()
	b.TradingHours = r.hoursRow.domain()
	return &b
}

func bullPens(rows []*bullPenRow) []*game.BullPen {
	out := make([]*game.BullPen, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out
}

func (q queries) BullPen(ctx context.Context, id int64) (*game.BullPen, error) {
	var r bullPenRow
	if err := q.get(ctx, &r, "bull pen", `SELECT `+bullPenCols+` FROM bull_pens WHERE id = ?`, id); err != nil {
		return nil, err
	}
	return r.domain(), nil
}

func (q queries) BullPens(ctx context.Context, f game.BullPenFilter) ([]*game.BullPen, int, error) {
	where := []string{`(visibility = 'PUBLIC' OR owner_id = ? OR id IN (SELECT bull_pen_id FROM participants WHERE user_id = ?))`}
	args := []any{f.ViewerID, f.ViewerID}
	if f.State != nil {
		where = append(where, `state = ?`)
		args = append(args, string(*f.State))
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := q.get(ctx, &total, "count", `SELECT count(*) FROM bull_pens WHERE `+cond, args...); err != nil {
		return nil, 0, err
	}
	if f.BeforeID > 0 {
		cond += ` AND id < ?`
		args = append(args, f.BeforeID)
	}
	args = append(args, f.Limit)
	var rows []*bullPenRow
	if err := q.sel(ctx, &rows, `SELECT `+bullPenCols+` FROM bull_pens WHERE `+cond+` ORDER BY id DESC LIMIT ?`, args...); err != nil {
		return nil, 0, err
	}
	return bullPens(rows), total, nil
}

func (q queries) LiveBullPens(ctx context.Context) ([]*game.BullPen, error) {
	var rows []*bullPenRow
	err := q.sel(ctx, &rows, `SELECT `+bullPenCols+` FROM bull_pens WHERE state IN ('SCHEDULED', 'ACTIVE', 'PAUSED') ORDER BY id`)
	return bullPens(rows), err
}

func (q writes) InsertBullPen(ctx context.Context, b *game.BullPen) (err error) {
	var allowed sql.NullString
	if b.AllowedSymbols != nil {
		allowed = sql.NullString{String: strings.Join(b.AllowedSymbols, ","), Valid: true}
	}
	hours := hoursOf(b)
	b.ID, err = q.insertID(ctx, `INSERT INTO bull_pens (name, description, owner_id, state, starts_at, ends_at, starting_cash,
		commission, allow_short_selling, allowed_symbols, max_participants, visibility, trade_visibility, invite_code,
		last_sequence, created_at, max_position_percent, min_share_price, max_orders_per_minute, max_open_orders, rank_by,
		maintenance_margin_percent, execution_preset, spread_bps, slippage_bps, price_impact, volume_limit_percent,
		cash_interest_percent, margin_interest_percent, borrow_fee_percent,
		trading_time_zone, trading_open, trading_close, trading_days, after_hours, max_quote_age_seconds, require_note,
		team_size, team_scoring)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
		?, ?)`,
		b.Name, b.Description, b.OwnerID, string(b.State), b.StartsAt, b.EndsAt, b.StartingCash, b.Commission,
		b.AllowShortSelling, allowed, b.MaxParticipants, string(b.Visibility), string(b.TradeVisibility), b.InviteCode, b.CreatedAt,
		b.MaxPositionPercent, b.MinSharePrice, b.MaxOrdersPerMinute, b.MaxOpenOrders, string(rankBy(b)),
		b.MaintenanceMarginPercent, string(executionPreset(b)), b.SpreadBps, b.SlippageBps, b.PriceImpact, b.VolumeLimitPercent,
		b.CashInterestPercent, b.MarginInterestPercent, b.BorrowFeePercent,
		hours.Zone, hours.Open, hours.Close, hours.Days, string(afterHours(b)), b.MaxQuoteAgeSeconds, b.RequireNote,
		b.TeamSize, string(teamScoring(b)))
	return err
}

// executionPreset is b's execution preset, FRICTIONLESS when unset.
func executionPreset(b *game.BullPen) game.ExecutionPreset {
	if b.Preset == "" {
		return game.ExecutionFrictionless
	}
	return b.Preset
}

// afterHours is b's after-hours policy, QUEUE when unset.
func afterHours(b *game.BullPen) game.AfterHoursPolicy {
	if b.AfterHours == "" {
		return game.AfterHoursQueue
	}
	return b.AfterHours
}

// teamScoring is how b scores its teams, AVERAGE when unset.
func teamScoring(b *game.BullPen) game.TeamScoring {
	if b.TeamScoring == "" {
		return game.TeamAverage
	}
	return b.TeamScoring
}

// rankBy is what b ranks by, RETURN when unset.
func rankBy(b *game.BullPen) game.RankMetric {
	if b.RankBy == "" {
		return game.RankReturn
	}
	return b.RankBy
}

func (q writes) MoveBullPen(ctx context.Context, id int64, from, to game.RoomState, startsAt, endsAt time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE bull_pens SET state = ?, starts_at = ?, ends_at = ? WHERE id = ? AND state = ?`,
		string(to), startsAt, endsAt, id, string(from))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Participants

const participantCols = `id, bull_pen_id, user_id, cash, joined_at, removed_at, removed_reason`

func (q queries) Participant(ctx context.Context, id int64) (*game.Participant, error) {
	var p game.Participant
	return &p, q.get(ctx, &p, "participant", `SELECT `+participantCols+` FROM participants WHERE id = ?`, id)
}

func (q queries) ParticipantByUser(ctx context.Context, bullPenID, userID int64) (*game.Participant, error) {
	var p game.Participant
	return &p, q.get(ctx, &p, "participant", `SELECT `+participantCols+` FROM participants WHERE bull_pen_id = ? AND user_id = ?`, bullPenID, userID)
}

func (q queries) Participants(ctx context.Context, bullPenID int64) ([]*game.Participant, error) {
	var ps []*game.Participant
	return ps, q.sel(ctx, &ps, `SELECT `+participantCols+` FROM participants WHERE bull_pen_id = ? ORDER BY id`, bullPenID)
}

func (q queries) ParticipantCount(ctx context.Context, bullPenID int64) (int, error) {
	var n int
	return n, q.get(ctx, &n, "count", `SELECT count(*) FROM participants WHERE bull_pen_id = ?`, bullPenID)
}

func (q writes) InsertParticipant(ctx context.Context, p *game.Participant) (err error) {
	p.ID, err = q.insertID(ctx, `INSERT INTO participants (bull_pen_id, user_id, cash, joined_at) VALUES (?, ?, ?, ?)`,
		p.BullPenID, p.UserID, p.Cash, p.JoinedAt)
	return err
}

// RemoveParticipant ends a seat: it reports false when it was ended
// already (the claim: one removal, whoever gets there first).
func (q writes) RemoveParticipant(ctx context.Context, participantID int64, at time.Time, reason string) (bool, error) {
	res, err := q.exec(ctx, `UPDATE participants SET removed_at = ?, removed_reason = ? WHERE id = ? AND removed_at IS NULL`,
		at, reason, participantID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (q writes) SetCash(ctx context.Context, participantID int64, cash decimal.Decimal) error {
	_, err := q.exec(ctx, `UPDATE participants SET cash = ? WHERE id = ?`, cash, participantID)
	return err
}

// Positions

const positionCols = `participant_id, symbol, quantity, cost_basis, realized_pnl, updated_at`

func (q queries) Positions(ctx context.Context, participantID int64) ([]*game.Position, error) {
	var ps []*game.Position
	return ps, q.sel(ctx, &ps, `SELECT `+positionCols+` FROM positions WHERE participant_id = ? ORDER BY symbol`, participantID)
}

func (q queries) PositionsByRoom(ctx context.Context, bullPenID int64) ([]*game.Position, error) {
	var ps []*game.Position
	return ps, q.sel(ctx, &ps, `SELECT `+positionCols+` FROM positions
		WHERE participant_id IN (SELECT id FROM participants WHERE bull_pen_id = ?) ORDER BY participant_id, symbol`, bullPenID)
}

// MarginedShorts reads the shorts of symbol through their partial index
// (positions_short_symbol): a price reads only the few positions a
// margin call may concern.
func (q queries) MarginedShorts(ctx context.Context, symbol string) ([]*game.Participant, error) {
	var ps []*game.Participant
	return ps, q.sel(ctx, &ps, `SELECT p.id, p.bull_pen_id, p.user_id, p.cash, p.joined_at, p.removed_at, p.removed_reason FROM positions s
		JOIN participants p ON p.id = s.participant_id JOIN bull_pens b ON b.id = p.bull_pen_id
		WHERE s.symbol = ? AND s.quantity < 0 AND b.state = 'ACTIVE' AND b.maintenance_margin_percent IS NOT NULL
		ORDER BY p.bull_pen_id, p.id`, symbol)
}

func (q writes) SavePosition(ctx context.Context, p *game.Position) error {
	_, err := q.exec(ctx, `INSERT INTO positions (participant_id, symbol, quantity, cost_basis, realized_pnl, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (participant_id, symbol) DO UPDATE SET quantity = excluded.quantity, cost_basis = excluded.cost_basis,
		realized_pnl = excluded.realized_pnl, updated_at = excluded.updated_at`,
		p.ParticipantID, p.Symbol, p.Quantity, p.CostBasis, p.RealizedPnL, p.UpdatedAt)
	return err
}

// Orders

// An order's stored status is OPEN while it works, filled in part or not:
// the open-order indexes and queries need one status, and PARTIALLY_FILLED
// is an OPEN order with filled shares, read back as such (orderCols) and
// stored as OPEN (storedStatus).
const orderCols = `id, bull_pen_id, participant_id, client_order_id, symbol, side, type, quantity, limit_price,
	stop_price, triggered, CASE WHEN status = 'OPEN' AND filled_quantity > 0 THEN 'PARTIALLY_FILLED' ELSE status END AS status,
	filled_quantity, filled_price, commission, reserved, reject_reason, reject_message,
	created_at, updated_at, filled_at, trail_amount, trail_percent, expires_at, note`

// storedStatus is how status s is stored (see orderCols).
func storedStatus(s game.OrderStatus) string {
	if s == game.OrderStatusPartiallyFilled {
		return string(game.OrderStatusOpen)
	}
	return string(s)
}

func (q queries) Order(ctx context.Context, id int64) (*game.Order, error) {
	var o game.Order
	return &o, q.get(ctx, &o, "order", `SELECT `+orderCols+` FROM orders WHERE id = ?`, id)
}

func (q queries) OrderByClientID(ctx context.Context, participantID int64, clientOrderID string) (*game.Order, error) {
	var o game.Order
	return &o, q.get(ctx, &o, "order", `SELECT `+orderCols+` FROM orders WHERE participant_id = ? AND client_order_id = ?`, participantID, clientOrderID)
}

func (q queries) Orders(ctx context.Context, f game.OrderFilter) ([]*game.Order, int, error) {
	cond, args := `bull_pen_id = ?`, []any{f.BullPenID}
	if f.ParticipantID > 0 {
		cond += ` AND participant_id = ?`
		args = append(args, f.ParticipantID)
	}
	if f.Status != nil {
		cond += ` AND status = ?`
		args = append(args, storedStatus(*f.Status))
		switch *f.Status {
		case game.OrderStatusOpen:
			cond += ` AND filled_quantity = 0`
		case game.OrderStatusPartiallyFilled:
			cond += ` AND filled_quantity > 0`
		}
	}
	if f.Filled {
		cond += ` AND filled_quantity > 0`
	}
	var total int
	if err := q.get(ctx, &total, "count", `SELECT count(*) FROM orders WHERE `+cond, args...); err != nil {
		return nil, 0, err
	}
	if f.BeforeID > 0 {
		cond += ` AND id < ?`
		args = append(args, f.BeforeID)
	}
	args = append(args, f.Limit)
	var os []*game.Order
	return os, total, q.sel(ctx, &os, `SELECT `+orderCols+` FROM orders WHERE `+cond+` ORDER BY id DESC LIMIT ?`, args...)
}

func (q queries) OpenOrders(ctx context.Context, participantID int64) ([]*game.Order, error) {
	var os []*game.Order
	return os, q.sel(ctx, &os, `SELECT `+orderCols+` FROM orders WHERE participant_id = ? AND status = 'OPEN' ORDER BY id`, participantID)
}

func (q queries) OpenOrdersBySymbol(ctx context.Context, symbol string) ([]*game.Order, error) {
	var os []*game.Order
	return os, q.sel(ctx, &os, `SELECT `+orderCols+` FROM orders WHERE symbol = ? AND status = 'OPEN'
		AND bull_pen_id IN (SELECT id FROM bull_pens WHERE state = 'ACTIVE') ORDER BY bull_pen_id, id`, symbol)
}

func (q queries) OpenOrdersByRoom(ctx context.Context, bullPenID int64) ([]*game.Order, error) {
	var os []*game.Order
	return os, q.sel(ctx, &os, `SELECT `+orderCols+` FROM orders WHERE bull_pen_id = ? AND status = 'OPEN' ORDER BY id`, bullPenID)
}

func (q writes) InsertOrder(ctx context.Context, o *game.Order) (err error) {
	o.ID, err = q.insertID(ctx, `INSERT INTO orders (bull_pen_id, participant_id, client_order_id, symbol, side, type, quantity,
		limit_price, stop_price, triggered, status, filled_quantity, filled_price, commission, reserved, reject_reason,
		reject_message, created_at, updated_at, filled_at, trail_amount, trail_percent, expires_at, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.BullPenID, o.ParticipantID, o.ClientOrderID, o.Symbol, string(o.Side), string(o.Type), o.Quantity,
		o.LimitPrice, o.StopPrice, o.Triggered, storedStatus(o.Status), o.FilledQuantity, o.FilledPrice, o.Commission,
		o.Reserved, o.RejectReason, o.RejectMessage, o.CreatedAt, o.UpdatedAt, o.FilledAt, o.TrailAmount, o.TrailPercent, o.ExpiresAt, o.Note)
	return err
}

// CountOrdersSince counts the participant's orders created after since,
// leaving out those refused by the order-rate rule itself.
func (q queries) CountOrdersSince(ctx context.Context, participantID int64, since time.Time) (int, error) {
	var n int
	return n, q.get(ctx, &n, "count", `SELECT count(*) FROM orders WHERE participant_id = ? AND created_at > ?
		AND (reject_reason IS NULL OR reject_reason <> ?)`, participantID, since, game.RejectOrderRate)
}

// DueOrders lists OPEN orders whose expires_at is at or before at,
// soonest first, at most limit.
func (q queries) DueOrders(ctx context.Context, at time.Time, limit int) ([]*game.Order, error) {
	var os []*game.Order
	return os, q.sel(ctx, &os, `SELECT `+orderCols+` FROM orders WHERE status = 'OPEN' AND expires_at IS NOT NULL
		AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`, at, limit)
}

// NextExpiry is the earliest expires_at of an OPEN order, or zero.
func (q queries) NextExpiry(ctx context.Context) (time.Time, error) {
	// A plain column, not min(): SQLite gives an aggregate's time back as
	// text.
	var at []time.Time
	if err := q.sel(ctx, &at, `SELECT expires_at FROM orders WHERE status = 'OPEN' AND expires_at IS NOT NULL
		ORDER BY expires_at LIMIT 1`); err != nil || len(at) == 0 {
		return time.Time{}, err
	}
	return at[0].UTC(), nil
}

func (q writes) UpdateOrder(ctx context.Context, o *game.Order) error {
	_, err := q.exec(ctx, `UPDATE orders SET triggered = ?, status = ?, filled_quantity = ?, filled_price = ?,
		commission = ?, reserved = ?, reject_reason = ?, reject_message = ?, updated_at = ?, filled_at = ?, stop_price = ? WHERE id = ?`,
		o.Triggered, storedStatus(o.Status), o.FilledQuantity, o.FilledPrice, o.Commission, o.Reserved, o.RejectReason,
		o.RejectMessage, o.UpdatedAt, o.FilledAt, o.StopPrice, o.ID)
	return err
}

// Ledger

const ledgerCols = `participant_id, order_id, kind, amount, cash_after, buying_power_after, at, reason`

func (q queries) Ledger(ctx context.Context, participantID, afterID int64, limit int) ([]*game.LedgerEntry, int, error) {
	var total int
	if err := q.get(ctx, &total, "count", `SELECT count(*) FROM ledger_entries WHERE participant_id = ?`, participantID); err != nil {
		return nil, 0, err
	}
	es := []*game.LedgerEntry{}
	if err := q.sel(ctx, &es, `SELECT id, `+ledgerCols+` FROM ledger_entries WHERE participant_id = ? AND id > ?
		ORDER BY id LIMIT ?`, participantID, afterID, limit); err != nil {
		return nil, 0, err
	}
	for _, e := range es {
		e.At = e.At.UTC()
	}
	return es, total, nil
}

// InsertLedger writes entries, many rows per statement (an order's
// execution books at most a handful: one statement), or keeps them for
// the commit (see deferred.go).
func (tx *Tx) InsertLedger(ctx context.Context, entries []*game.LedgerEntry) error {
	if tx.deferring() {
		for _, e := range entries {
			tx.pending.addLedger(e)
		}
		return nil
	}
	return insertRows(ctx, tx.queries, entries, `INSERT INTO ledger_entries (`+ledgerCols+`) VALUES `, "", 8,
		func(args []any, e *game.LedgerEntry) []any {
			return append(args, e.ParticipantID, e.OrderID, string(e.Kind), e.Amount, e.CashAfter, e.BuyingPowerAfter, e.At, e.Reason)
		})
}

// Leaderboard

const entryCols = `rank, participant_id, user_id, portfolio_value, cash, total_return, return_percent,
	max_drawdown_percent, volatility_percent, sharpe_ratio, trade_count, win_rate`

// entryParams is the number of parameters of one entry's row.
const entryParams = 13

// entryRow is a stored leaderboard entry with its metrics.
type entryRow struct {
	game.LeaderboardEntry
	MaxDrawdownPercent decimal.Decimal  `db:"max_drawdown_percent"`
	VolatilityPercent  *decimal.Decimal `db:"volatility_percent"`
	SharpeRatio        *decimal.Decimal `db:"sharpe_ratio"`
	TradeCount         int              `db:"trade_count"`
	WinRate            *decimal.Decimal `db:"win_rate"`
}

func (r *entryRow) domain() game.LeaderboardEntry {
	e := r.LeaderboardEntry
	e.Metrics = game.PerformanceMetrics{
		TotalReturn: e.TotalReturn, ReturnPercent: e.ReturnPercent, MaxDrawdownPercent: r.MaxDrawdownPercent,
		VolatilityPercent: r.VolatilityPercent, SharpeRatio: r.SharpeRatio, TradeCount: r.TradeCount, WinRate: r.WinRate,
	}
	return e
}

func (q queries) LatestSnapshot(ctx context.Context, bullPenID int64) (*game.LeaderboardSnapshot, error) {
	ss, err := q.Snapshots(ctx, bullPenID, 1)
	if err != nil {
		return nil, err
	}
	if len(ss) == 0 {
		return nil, &game.Error{Code: game.ENOTFOUND, Message: "no leaderboard yet"}
	}
	return ss[0], nil
}

func (q queries) LatestSnapshotID(ctx context.Context, bullPenID int64) (int64, error) {
	var id int64
	return id, q.get(ctx, &id, "snapshot", `SELECT COALESCE(MAX(id), 0) FROM leaderboard_snapshots WHERE bull_pen_id = ? AND complete`, bullPenID)
}

// snapshotRow is a stored snapshot's row: its team standings as JSON,
// NULL for a room without teams.
type snapshotRow struct {
	game.LeaderboardSnapshot
	TeamsJSON sql.NullString `db:"teams"`
}

func (q queries) Snapshots(ctx context.Context, bullPenID int64, limit int) ([]*game.LeaderboardSnapshot, error) {
	var rows []*snapshotRow
	if err := q.sel(ctx, &rows, `SELECT id, bull_pen_id, taken_at, final, teams FROM leaderboard_snapshots
		WHERE bull_pen_id = ? AND complete ORDER BY id DESC LIMIT ?`, bullPenID, limit); err != nil {
		return nil, err
	}
	ss := make([]*game.LeaderboardSnapshot, len(rows))
	for i, r := range rows {
		s := &r.LeaderboardSnapshot
		ss[i] = s
		if r.TeamsJSON.Valid {
			if err := json.Unmarshal([]byte(r.TeamsJSON.String), &s.Teams); err != nil {
				return nil, fmt.Errorf("snapshot %d: teams: %w", s.ID, err)
			}
		}
		s.TakenAt = s.TakenAt.UTC()
		var rows []entryRow
		if err := q.sel(ctx, &rows, `SELECT `+entryCols+` FROM leaderboard_entries WHERE snapshot_id = ?
			ORDER BY rank, participant_id`, s.ID); err != nil {
			return nil, err
		}
		s.Entries = make([]game.LeaderboardEntry, len(rows))
		for i := range rows {
			s.Entries[i] = rows[i].domain()
		}
	}
	return ss, nil
}

func (q writes) InsertSnapshot(ctx context.Context, s *game.LeaderboardSnapshot) (err error) {
	teams, err := teamsJSON(s)
	if err != nil {
		return err
	}
	s.ID, err = q.insertID(ctx, `INSERT INTO leaderboard_snapshots (bull_pen_id, taken_at, final, teams) VALUES (?, ?, ?, ?)`,
		s.BullPenID, s.TakenAt, s.Final, teams)
	if err != nil {
		return err
	}
	return q.InsertSnapshotEntries(ctx, s.ID, s.Entries)
}

func (q writes) BeginSnapshot(ctx context.Context, s *game.LeaderboardSnapshot) (err error) {
	teams, err := teamsJSON(s)
	if err != nil {
		return err
	}
	s.ID, err = q.insertID(ctx, `INSERT INTO leaderboard_snapshots (bull_pen_id, taken_at, final, complete, teams) VALUES (?, ?, ?, FALSE, ?)`,
		s.BullPenID, s.TakenAt, s.Final, teams)
	return err
}

// teamsJSON is s's team standings as stored: JSON, NULL without teams.
func teamsJSON(s *game.LeaderboardSnapshot) (sql.NullString, error) {
	if s.Teams == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(s.Teams)
	return sql.NullString{String: string(b), Valid: err == nil}, err
}

func (q writes) InsertSnapshotEntries(ctx context.Context, snapshotID int64, entries []game.LeaderboardEntry) error {
	// Many rows per statement: a room of 5,000 took 5,000 statements (33 ms
	// of CPU with the write lock held) for every snapshot.
	return insertRows(ctx, q.queries, entries, `INSERT INTO leaderboard_entries (snapshot_id, `+entryCols+`) VALUES `, "", entryParams,
		func(args []any, e game.LeaderboardEntry) []any {
			m := e.Metrics
			return append(args, snapshotID, e.Rank, e.ParticipantID, e.UserID, e.PortfolioValue, e.Cash, e.TotalReturn, e.ReturnPercent,
				m.MaxDrawdownPercent, m.VolatilityPercent, m.SharpeRatio, m.TradeCount, m.WinRate)
		})
}

func (q writes) CompleteSnapshot(ctx context.Context, id int64) (bool, error) {
	res, err := q.exec(ctx, `UPDATE leaderboard_snapshots SET complete = TRUE WHERE id = ? AND NOT complete`, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (q writes) DiscardSnapshots(ctx context.Context, bullPenID int64, takenBefore time.Time, id int64) (int, error) {
	where := ` WHERE bull_pen_id = ? AND NOT complete AND (taken_at < ? OR id = ?)`
	if _, err := q.exec(ctx, `DELETE FROM leaderboard_entries WHERE snapshot_id IN (SELECT id FROM leaderboard_snapshots`+where+`)`,
		bullPenID, takenBefore, id); err != nil {
		return 0, err
	}
	res, err := q.exec(ctx, `DELETE FROM leaderboard_snapshots`+where, bullPenID, takenBefore, id)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// rowsChunk is how many rows one multi-row INSERT writes at most: with
// tens of parameters a row, well under SQLite's and PostgreSQL's limits.
const rowsChunk = 200

// insertRows writes rows with one statement per rowsChunk of them: head,
// the rows' placeholders (k parameters each, appended by add), then tail.
// Statements of equal length share a prepared statement.
func insertRows[T any](ctx context.Context, q queries, rows []T, head, tail string, k int, add func(args []any, row T) []any) error {
	args := make([]any, 0, min(len(rows), rowsChunk)*k)
	for len(rows) > 0 {
		n := min(len(rows), rowsChunk)
		args = args[:0]
		for _, r := range rows[:n] {
			args = add(args, r)
		}
		if _, err := q.exec(ctx, head+placeholders(n, k)+tail, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// Fills

const fillCols = `id, order_id, at, quantity, price, mid_price, spread_cost, slippage_cost, impact_cost, commission, quote_at`

func (q queries) Fills(ctx context.Context, orderID int64) ([]game.Fill, error) {
	fs := []game.Fill{}
	if err := q.sel(ctx, &fs, `SELECT `+fillCols+` FROM fills WHERE order_id = ? ORDER BY id`, orderID); err != nil {
		return nil, err
	}
	for i := range fs {
		fs[i].At = fs[i].At.UTC()
		fs[i].QuoteAt = utcp(fs[i].QuoteAt)
	}
	return fs, nil
}

// maxFillsBatch bounds the orders of one FillsOf statement (SQLite's
// parameters).
const maxFillsBatch = 500

func (q queries) FillsOf(ctx context.Context, orderIDs []int64) (map[int64][]game.Fill, error) {
	out := make(map[int64][]game.Fill, len(orderIDs))
	for len(orderIDs) > 0 {
		batch := orderIDs[:min(len(orderIDs), maxFillsBatch)]
		orderIDs = orderIDs[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		var fs []game.Fill
		if err := q.sel(ctx, &fs, `SELECT `+fillCols+` FROM fills WHERE order_id IN `+placeholders(1, len(batch))+` ORDER BY id`, args...); err != nil {
			return nil, err
		}
		for _, f := range fs {
			f.At, f.QuoteAt = f.At.UTC(), utcp(f.QuoteAt)
			out[f.OrderID] = append(out[f.OrderID], f)
		}
	}
	return out, nil
}

func (q writes) InsertFill(ctx context.Context, f *game.Fill) (err error) {
	f.ID, err = q.insertID(ctx, `INSERT INTO fills (order_id, at, quantity, price, mid_price, spread_cost, slippage_cost, impact_cost, commission, quote_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.OrderID, f.At, f.Quantity, f.Price, f.MidPrice, f.SpreadCost, f.SlippageCost, f.ImpactCost, f.Commission, f.QuoteAt)
	return err
}

// placeholders is n rows of k parameters: "(?, ?), (?, ?)".
func placeholders(n, k int) string {
	row := "(" + strings.Repeat("?, ", k-1) + "?)"
	return strings.Repeat(row+", ", n-1) + row
}

// Quotes

func (q queries) Quote(ctx context.Context, symbol string) (*game.Quote, error) {
	var qu game.Quote
	if err := q.get(ctx, &qu, "quote", `SELECT symbol, price, bid, ask, volume, open, at FROM quotes WHERE symbol = ?`, symbol); err != nil {
		return nil, err
	}
	qu.At = qu.At.UTC()
	return &qu, nil
}

func (q queries) Quotes(ctx context.Context) ([]*game.Quote, error) {
	var qs []*game.Quote
	err := q.sel(ctx, &qs, `SELECT symbol, price, bid, ask, volume, open, at FROM quotes ORDER BY symbol`)
	for _, qu := range qs {
		qu.At = qu.At.UTC()
	}
	return qs, err
}

// Settings

func (q queries) Setting(ctx context.Context, key string) (string, error) {
	var v string
	return v, q.get(ctx, &v, "setting", `SELECT value FROM settings WHERE key = ?`, key)
}

func (q writes) InitSetting(ctx context.Context, key, value string) error {
	_, err := q.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value)
	return err
}

func (q writes) SetSetting(ctx context.Context, key, value string) error {
	_, err := q.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// Events

type eventRow struct {
	BullPenID     int64     `db:"bull_pen_id"`
	Sequence      int64     `db:"sequence"`
	Kind          string    `db:"kind"`
	ParticipantID *int64    `db:"participant_id"`
	OccurredAt    time.Time `db:"occurred_at"`
	Payload       []byte    `db:"payload"`
}

func (q queries) Events(ctx context.Context, bullPenID, after int64, limit int) ([]*game.Event, error) {
	var rows []eventRow
	if err := q.sel(ctx, &rows, `SELECT bull_pen_id, sequence, kind, participant_id, occurred_at, payload FROM events
		WHERE bull_pen_id = ? AND sequence > ? ORDER BY sequence LIMIT ?`, bullPenID, after, limit); err != nil {
		return nil, err
	}
	out := make([]*game.Event, len(rows))
	for i, r := range rows {
		out[i] = &game.Event{BullPenID: r.BullPenID, Sequence: r.Sequence, Kind: game.EventKind(r.Kind),
			ParticipantID: r.ParticipantID, OccurredAt: r.OccurredAt.UTC(), Payload: json.RawMessage(r.Payload)}
	}
	return out, nil
}

// AppendEvent takes the room's next sequence in this transaction and
// stores the event under it.
func (tx *Tx) AppendEvent(ctx context.Context, bullPenID int64, kind game.EventKind, participantID *int64, payload any) (*game.Event, error) {
	// A payload encoded already is stored as it is: a leaderboard of
	// 5,000 entries is about a megabyte that json.Marshal would scan again.
	body, ok := payload.(json.RawMessage)
	if !ok {
		var err error
		if body, err = json.Marshal(payload); err != nil {
			return nil, fmt.Errorf("event payload: %w", err)
		}
	}
	// The room's first event in a transaction takes the next sequence
	// from bull_pens, which also locks the room's row until the end (on
	// PostgreSQL; SQLite has one writer). Later ones count on from there,
	// and beforeCommit stores where the room ended up: one UPDATE per room
	// per transaction, not one per event, when a group commit holds many
	// orders of a room.
	seq, ok := tx.rooms[bullPenID]
	if b, locked := tx.locked[bullPenID]; !ok && locked {
		// The row is locked and read: count on from its sequence, and
		// let beforeCommit store where the room ended up.
		seq = b.LastSequence + 1
		tx.stored[bullPenID] = b.LastSequence
	} else if ok {
		seq++
	} else {
		if err := sqlx.GetContext(ctx, tx.ext, &seq, tx.rebind(`UPDATE bull_pens SET last_sequence = last_sequence + 1 WHERE id = ? RETURNING last_sequence`), bullPenID); err != nil {
			return nil, fmt.Errorf("next sequence of room %d: %w", bullPenID, err)
		}
		tx.stored[bullPenID] = seq
	}
	ev := &game.Event{BullPenID: bullPenID, Sequence: seq, Kind: kind, ParticipantID: participantID, OccurredAt: tx.now, Payload: body}
	if tx.deferring() {
		tx.pending.addEvent(bullPenID, seq, string(kind), participantID, tx.now, string(body))
	} else if _, err := tx.exec(ctx, `INSERT INTO events (bull_pen_id, sequence, kind, participant_id, occurred_at, payload) VALUES (?, ?, ?, ?, ?, ?)`,
		bullPenID, seq, string(kind), participantID, tx.now, string(body)); err != nil {
		return nil, err
	}
	tx.rooms[bullPenID] = seq
	return ev, nil
}

// storeSequences writes each room's last sequence that AppendEvent counted
// on past what bull_pens holds.
func (tx *Tx) storeSequences(ctx context.Context) error {
	for room, seq := range tx.rooms {
		if tx.stored[room] == seq {
			continue
		}
		if _, err := tx.exec(ctx, `UPDATE bull_pens SET last_sequence = ? WHERE id = ?`, seq, room); err != nil {
			return fmt.Errorf("last sequence of room %d: %w", room, err)
		}
		tx.stored[room] = seq
	}
	return nil
}

// withSequence shows a room read inside the transaction with the last
// sequence its events have reached so far.
func (tx *Tx) withSequence(b *game.BullPen) *game.BullPen {
	if seq, ok := tx.rooms[b.ID]; ok {
		b.LastSequence = seq
	}
	return b
}

// BullPen reads a room as this transaction sees it.
func (tx *Tx) BullPen(ctx context.Context, id int64) (*game.BullPen, error) {
	b, err := tx.queries.BullPen(ctx, id)
	if err != nil {
		return nil, err
	}
	return tx.withSequence(b), nil
}

// BullPens reads rooms as this transaction sees them.
func (tx *Tx) BullPens(ctx context.Context, f game.BullPenFilter) ([]*game.BullPen, int, error) {
	bs, n, err := tx.queries.BullPens(ctx, f)
	for _, b := range bs {
		tx.withSequence(b)
	}
	return bs, n, err
}

// LiveBullPens reads the live rooms as this transaction sees them.
func (tx *Tx) LiveBullPens(ctx context.Context) ([]*game.BullPen, error) {
	bs, err := tx.queries.LiveBullPens(ctx)
	for _, b := range bs {
		tx.withSequence(b)
	}
	return bs, err
}

// Corporate actions

const actionCols = `id, kind, symbol, ratio, amount_per_share, ex_date, pay_date, created_at, applied_at, paid_at, source`

func utcActions(as []*game.CorporateAction) []*game.CorporateAction {
	for _, a := range as {
		a.UTC()
	}
	return as
}

func (q queries) CorporateAction(ctx context.Context, id int64) (*game.CorporateAction, error) {
	var a game.CorporateAction
	if err := q.get(ctx, &a, "corporate action", `SELECT `+actionCols+` FROM corporate_actions WHERE id = ?`, id); err != nil {
		return nil, err
	}
	a.UTC()
	return &a, nil
}

func (q queries) CorporateActions(ctx context.Context, f game.CorporateActionFilter) ([]*game.CorporateAction, int, error) {
	cond, args := `TRUE`, []any{}
	if f.Symbol != "" {
		cond, args = `symbol = ?`, append(args, f.Symbol)
	}
	var total int
	if err := q.get(ctx, &total, "count", `SELECT count(*) FROM corporate_actions WHERE `+cond, args...); err != nil {
		return nil, 0, err
	}
	args = append(args, f.AfterID, f.Limit)
	as := []*game.CorporateAction{}
	err := q.sel(ctx, &as, `SELECT `+actionCols+` FROM corporate_actions WHERE `+cond+` AND id > ? ORDER BY id LIMIT ?`, args...)
	return utcActions(as), total, err
}

func (q queries) DueCorporateActions(ctx context.Context, at time.Time, limit int) ([]*game.CorporateAction, error) {
	var as []*game.CorporateAction
	err := q.sel(ctx, &as, `SELECT `+actionCols+` FROM corporate_actions
		WHERE (applied_at IS NULL AND ex_date <= ?)
		   OR (kind = 'DIVIDEND' AND applied_at IS NOT NULL AND paid_at IS NULL AND pay_date <= ?)
		ORDER BY ex_date, id LIMIT ?`, at, at, limit)
	return utcActions(as), err
}

func (q queries) NextCorporateAction(ctx context.Context) (time.Time, error) {
	// Plain columns, not min(): SQLite gives an aggregate's time back as
	// text.
	var ex, pay []time.Time
	if err := q.sel(ctx, &ex, `SELECT ex_date FROM corporate_actions WHERE applied_at IS NULL ORDER BY ex_date LIMIT 1`); err != nil {
		return time.Time{}, err
	}
	if err := q.sel(ctx, &pay, `SELECT pay_date FROM corporate_actions WHERE kind = 'DIVIDEND' AND paid_at IS NULL
		ORDER BY pay_date LIMIT 1`); err != nil {
		return time.Time{}, err
	}
	var next time.Time
	for _, t := range append(ex, pay...) {
		if next.IsZero() || t.Before(next) {
			next = t.UTC()
		}
	}
	return next, nil
}

func (q queries) RoomsHolding(ctx context.Context, symbol string) ([]int64, error) {
	var ids []int64
	return ids, q.sel(ctx, &ids, `SELECT DISTINCT p.bull_pen_id FROM positions s JOIN participants p ON p.id = s.participant_id
		JOIN bull_pens b ON b.id = p.bull_pen_id
		WHERE s.symbol = ? AND s.quantity <> 0 AND b.state IN ('ACTIVE', 'PAUSED') ORDER BY p.bull_pen_id`, symbol)
}

func (q queries) DividendEntitlements(ctx context.Context, actionID int64) ([]*game.DividendEntitlement, error) {
	var es []*game.DividendEntitlement
	return es, q.sel(ctx, &es, `SELECT action_id, participant_id, bull_pen_id, quantity, amount FROM dividend_entitlements
		WHERE action_id = ? ORDER BY bull_pen_id, participant_id`, actionID)
}

func (q writes) InsertCorporateAction(ctx context.Context, a *game.CorporateAction) (err error) {
	a.ID, err = q.insertID(ctx, `INSERT INTO corporate_actions (kind, symbol, ratio, amount_per_share, ex_date, pay_date, created_at, source)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, string(a.Kind), a.Symbol, a.Ratio, a.AmountPerShare, a.ExDate, a.PayDate, a.CreatedAt, a.Source)
	return err
}

// ClaimCorporateAction is the conditional update that makes a stage
// happen once: on PostgreSQL a second instance's update waits for the
// first's transaction and then finds the stage done.
func (tx *Tx) ClaimCorporateAction(ctx context.Context, id int64, stage game.ActionStage) (bool, error) {
	query := `UPDATE corporate_actions SET applied_at = ? WHERE id = ? AND applied_at IS NULL AND ex_date <= ?`
	if stage == game.StagePay {
		query = `UPDATE corporate_actions SET paid_at = ? WHERE id = ? AND kind = 'DIVIDEND' AND paid_at IS NULL
			AND applied_at IS NOT NULL AND pay_date <= ?`
	}
	res, err := tx.exec(ctx, query, tx.now, id, tx.now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (q writes) InsertDividendEntitlements(ctx context.Context, es []*game.DividendEntitlement) error {
	return insertRows(ctx, q.queries, es, `INSERT INTO dividend_entitlements (action_id, participant_id, bull_pen_id, quantity, amount) VALUES `, "", 5,
		func(args []any, e *game.DividendEntitlement) []any {
			return append(args, e.ActionID, e.ParticipantID, e.BullPenID, e.Quantity, e.Amount)
		})
}

func (q writes) AdjustOrder(ctx context.Context, o *game.Order) error {
	_, err := q.exec(ctx, `UPDATE orders SET quantity = ?, filled_quantity = ?, limit_price = ?, stop_price = ?, trail_amount = ?,
		reserved = ?, updated_at = ? WHERE id = ?`,
		o.Quantity, o.FilledQuantity, o.LimitPrice, o.StopPrice, o.TrailAmount, o.Reserved, o.UpdatedAt, o.ID)
	return err
}

// AppliedSplits lists every split applied so far, oldest first: a price
// feed that keeps prices of its own rescales them by these (see
// market.Splitter).
func (q queries) AppliedSplits(ctx context.Context) ([]*game.CorporateAction, error) {
	var as []*game.CorporateAction
	err := q.sel(ctx, &as, `SELECT `+actionCols+` FROM corporate_actions WHERE kind = 'SPLIT' AND applied_at IS NOT NULL
		ORDER BY applied_at, id`)
	return utcActions(as), err
}
