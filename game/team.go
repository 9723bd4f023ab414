package game

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Teams (issue 20): a room with TeamSize set has teams, ranked on a team
// leaderboard beside the players'.
//
//   - A participant of the room who is in no team creates a team
//     (CreateTeam) and is its first member, or joins one (JoinTeam) that
//     has fewer than TeamSize members (else TEAM_FULL). A participant is in
//     at most one team of the room (CONFLICT otherwise), for good: there is
//     no leaving a team. A removed participant may do neither; a player
//     removed after joining stays in the team, as they stay on the board.
//   - Teams are made while the room is SCHEDULED, ACTIVE or PAUSED; once
//     it is ENDED or CANCELLED its teams are final (CONFLICT).
//   - A team's score comes from its members' leaderboard entries of the
//     same snapshot (see RankTeams), so the team board and the players'
//     board always agree; a team with no member in the snapshot is not
//     ranked. Every snapshot of a room with teams stores its team
//     standings, and its LEADERBOARD event carries them.
//   - Teams and their members are seen by whoever sees the room (as the
//     leaderboard is).

// TeamScoring is how a room's teams are scored from their members'
// leaderboard entries.
type TeamScoring string

const (
	// TeamAverage: the mean of the members' returnPercent, rounded
	// half-even to MoneyPlaces (4) decimal places, as returnPercent is.
	TeamAverage TeamScoring = "AVERAGE"
	// TeamSum: the sum of the members' portfolio values.
	TeamSum TeamScoring = "SUM"
	// TeamBest: the best member's returnPercent.
	TeamBest TeamScoring = "BEST"
)

// ETEAMFULL is the code of JoinTeam's error when the team has TeamSize
// members already.
const ETEAMFULL = "TEAM_FULL"

// MinTeamSize and MaxTeamSize bound a room's teamSize; MaxTeamNameLength
// bounds a team's name, in characters.
const (
	MinTeamSize       = 2
	MaxTeamSize       = 50
	MaxTeamNameLength = 60
)

// Team is a group of a room's participants ranked together.
type Team struct {
	ID        int64     `db:"id" json:"id"`
	BullPenID int64     `db:"bull_pen_id" json:"bullPenId"`
	Name      string    `db:"name" json:"name"`
	CreatedAt time.Time `db:"created_at" json:"-"`
	// MemberIDs are its participants, in the order they joined.
	MemberIDs []int64 `db:"-" json:"memberIds"`
	// Rank and Score are the team's standing in a snapshot (the latest,
	// or the one it came with); nil when that snapshot does not rank it
	// (there is none yet, or it was taken before the team had members).
	Rank  *int             `db:"-" json:"-"`
	Score *decimal.Decimal `db:"-" json:"-"`
}

// TeamStanding is one team's line in a snapshot: the team as it was then
// (its members at the time), its rank and its score.
type TeamStanding struct {
	Team  Team            `json:"team"`
	Rank  int             `json:"rank"`
	Score decimal.Decimal `json:"score"`
}

// Ranked is the standing's team with its rank and score set.
func (ts TeamStanding) Ranked() *Team {
	t := ts.Team
	rank, score := ts.Rank, ts.Score
	t.Rank, t.Score = &rank, &score
	return &t
}

// teamScoring is what room scores its teams by (AVERAGE when unset).
func teamScoring(room *BullPen) TeamScoring {
	if room.TeamScoring == "" {
		return TeamAverage
	}
	return room.TeamScoring
}

// setTeams checks the team settings of in and copies them to b.
func setTeams(in CreateBullPenInput, b *BullPen) error {
	b.TeamScoring = TeamAverage
	if in.TeamScoring != nil {
		switch *in.TeamScoring {
		case TeamAverage, TeamSum, TeamBest:
		default:
			return Invalid("teamScoring", "must be AVERAGE, SUM or BEST")
		}
		b.TeamScoring = *in.TeamScoring
	}
	if in.TeamSize == nil {
		if b.TeamScoring != TeamAverage {
			return Invalid("teamScoring", "needs teamSize: a room without teams scores none")
		}
		return nil
	}
	if n := *in.TeamSize; n < MinTeamSize || n > MaxTeamSize {
		return Invalid("teamSize", "must be between %d and %d members, got %d", MinTeamSize, MaxTeamSize, n)
	}
	size := *in.TeamSize
	b.TeamSize = &size
	return nil
}

// RankTeams ranks teams on the leaderboard entries of one snapshot, by
// scoring: AVERAGE, the mean of the members' ReturnPercent rounded
// half-even to MoneyPlaces; SUM, the sum of their PortfolioValue; BEST, the
// highest ReturnPercent among them. A team with no member among entries is
// left out. Higher scores rank first; equal scores share the rank with
// standard competition ranking (1, 1, 3), as RankBy's players do, and are
// listed in the order of teams (by creation). Each standing's team carries
// the members counted, in the team's order. It returns an empty, non-nil
// slice when no team is ranked.
func RankTeams(scoring TeamScoring, teams []*Team, entries []LeaderboardEntry) []TeamStanding {
	byID := make(map[int64]*LeaderboardEntry, len(entries))
	for i := range entries {
		byID[entries[i].ParticipantID] = &entries[i]
	}
	out := []TeamStanding{}
	for _, t := range teams {
		var members []*LeaderboardEntry
		ids := []int64{}
		for _, id := range t.MemberIDs {
			if e, ok := byID[id]; ok {
				members = append(members, e)
				ids = append(ids, id)
			}
		}
		if len(members) == 0 {
			continue
		}
		team := *t
		team.MemberIDs, team.Rank, team.Score = ids, nil, nil
		out = append(out, TeamStanding{Team: team, Score: teamScore(scoring, members)})
	}
	scores := make([]decimal.Decimal, len(out))
	for i, ts := range out {
		scores[i] = ts.Score
	}
	keys := sortKeys(scores)
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return -keys.cmp(a, b) })
	ranked := make([]TeamStanding, len(out))
	for i, idx := range order {
		ts := out[idx]
		if i > 0 && keys.cmp(idx, order[i-1]) == 0 {
			ts.Rank = ranked[i-1].Rank
		} else {
			ts.Rank = i + 1
		}
		ranked[i] = ts
	}
	return ranked
}

// teamScore is the score of a team of members (at least one) by scoring.
func teamScore(scoring TeamScoring, members []*LeaderboardEntry) decimal.Decimal {
	switch scoring {
	case TeamSum:
		sum := decimal.Zero
		for _, e := range members {
			sum = sum.Add(e.PortfolioValue)
		}
		return sum
	case TeamBest:
		best := members[0].ReturnPercent
		for _, e := range members[1:] {
			if e.ReturnPercent.GreaterThan(best) {
				best = e.ReturnPercent
			}
		}
		return best
	default:
		sum := decimal.Zero
		for _, e := range members {
			sum = sum.Add(e.ReturnPercent)
		}
		return divRoundHalfEven(sum, decimal.NewFromInt(int64(len(members))), MoneyPlaces)
	}
}

// sameTeams says whether two team boards show the same thing: the same
// teams in the same order, with equal rank, score and members.
func sameTeams(a, b []TeamStanding) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Team.ID != y.Team.ID || x.Rank != y.Rank || !x.Score.Equal(y.Score) || !slices.Equal(x.Team.MemberIDs, y.Team.MemberIDs) {
			return false
		}
	}
	return true
}

// roomTeams reads room's teams with their members in q: nil for a room
// without teams.
func roomTeams(ctx context.Context, q Queries, room *BullPen) ([]*Team, error) {
	if room.TeamSize == nil {
		return nil, nil
	}
	return q.Teams(ctx, room.ID)
}

// teamNameKey is what two team names of one room must not share: the name
// in lower case.
func teamNameKey(name string) string { return strings.ToLower(name) }

// teamSeat reads user's seat in room for a team change in tx: FORBIDDEN
// for someone who has none (NOT_FOUND when the room is PRIVATE and they
// do not own it, as for an order) or whose seat was ended.
func teamSeat(ctx context.Context, tx Tx, room *BullPen, user *User) (*Participant, error) {
	p, err := tx.ParticipantByUser(ctx, room.ID, user.ID)
	if ErrorCode(err) == ENOTFOUND {
		if room.Visibility == VisibilityPrivate && room.OwnerID != user.ID {
			return nil, roomNotFound(room.ID)
		}
		return nil, Errorf(EFORBIDDEN, "join bull pen %d before joining one of its teams", room.ID)
	} else if err != nil {
		return nil, err
	}
	if p.RemovedAt != nil {
		return nil, Errorf(EFORBIDDEN, "you were removed from bull pen %d by its organiser (%s): you can no longer join a team", room.ID, deref(p.RemovedReason))
	}
	return p, nil
}

// teamOf is the team of teams participantID is in, or nil.
func teamOf(teams []*Team, participantID int64) *Team {
	for _, t := range teams {
		if slices.Contains(t.MemberIDs, participantID) {
			return t
		}
	}
	return nil
}

// checkTeamsOpen refuses a team change in a room that has no teams or is
// over.
func checkTeamsOpen(room *BullPen) error {
	if room.TeamSize == nil {
		return Invalid("bullPenId", "bull pen %d has no teams (its teamSize is not set)", room.ID)
	}
	if room.State.Over() {
		return Errorf(ECONFLICT, "bull pen %d is %s: its teams are final", room.ID, room.State)
	}
	return nil
}

// CreateTeam makes a team named name in room roomID, with user, a
// participant of the room in no team yet, as its first member; the
// leaderboard is marked to be refreshed, so the next snapshot ranks it.
// The name is trimmed: 1 to MaxTeamNameLength characters, one line, no
// control characters; no two teams of a room share it, whatever its case.
//
// Errors: UNAUTHENTICATED; NOT_FOUND for a room user may not see;
// BAD_USER_INPUT naming bullPenId for a room without teams, or name;
// FORBIDDEN for someone without a seat in the room or whose seat was
// ended; CONFLICT when user is in a team of the room already, the name is
// taken, or the room is ENDED or CANCELLED.
func (s *Service) CreateTeam(ctx context.Context, user *User, roomID int64, name string) (*Team, error) {
	if user == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to create a team")
	}
	view, err := s.View(ctx, user, roomID)
	if err != nil {
		return nil, err
	}
	if view.Room.TeamSize == nil {
		return nil, checkTeamsOpen(view.Room)
	}
	name, err = checkWords("name", name, MaxTeamNameLength, false)
	if err != nil {
		return nil, err
	}
	var team *Team
	err = s.store.Apply(ctx, Change{Rooms: []int64{roomID}, Run: func(ctx context.Context, tx Tx) error {
		team = nil
		_, p, teams, err := seatWithoutTeam(ctx, tx, roomID, user)
		if err != nil {
			return err
		}
		key := teamNameKey(name)
		if slices.ContainsFunc(teams, func(t *Team) bool { return teamNameKey(t.Name) == key }) {
			return Errorf(ECONFLICT, "bull pen %d has a team named %q already", roomID, name)
		}
		t := &Team{BullPenID: roomID, Name: name, CreatedAt: tx.Now()}
		if err := tx.InsertTeam(ctx, t); err != nil {
			return err
		}
		if err := tx.AddTeamMember(ctx, t.ID, p.ID); err != nil {
			return err
		}
		t.MemberIDs = []int64{p.ID}
		team = t
		return nil
	}})
	if err != nil {
		return nil, err
	}
	s.markDirty(roomID)
	return team, nil
}

// seatWithoutTeam locks the room for a team change and returns it, user's
// seat in it and the room's teams: CONFLICT when the room's teams are
// final or user is in a team already; FORBIDDEN without a seat or with an
// ended one (teamSeat).
func seatWithoutTeam(ctx context.Context, tx Tx, roomID int64, user *User) (*BullPen, *Participant, []*Team, error) {
	room, err := lockRoom(ctx, tx, roomID)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := checkTeamsOpen(room); err != nil {
		return nil, nil, nil, err
	}
	p, err := teamSeat(ctx, tx, room, user)
	if err != nil {
		return nil, nil, nil, err
	}
	teams, err := tx.Teams(ctx, roomID)
	if err != nil {
		return nil, nil, nil, err
	}
	if t := teamOf(teams, p.ID); t != nil {
		return nil, nil, nil, Errorf(ECONFLICT, "you are in team %q of bull pen %d already: a participant is in one team", t.Name, roomID)
	}
	return room, p, teams, nil
}

// JoinTeam puts user, a participant of the team's room in no team yet, in
// team teamID; the leaderboard is marked to be refreshed. Joins of one
// room are serialised on the room, so two racing for a team's last seat
// cannot both get it.
//
// Errors: UNAUTHENTICATED; NOT_FOUND for an unknown team or one of a
// room user may not see; FORBIDDEN for someone without a seat in the room
// or whose seat was ended; CONFLICT when user is in a team of the room
// already (this one included) or the room is ENDED or CANCELLED;
// TEAM_FULL when the team has the room's teamSize members.
func (s *Service) JoinTeam(ctx context.Context, user *User, teamID int64) (*Team, error) {
	if user == nil {
		return nil, Errorf(EUNAUTHENTICATED, "sign in to join a team")
	}
	notFound := Errorf(ENOTFOUND, "team %d not found", teamID)
	t, err := s.store.Team(ctx, teamID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	roomID := t.BullPenID
	if _, err := s.View(ctx, user, roomID); ErrorCode(err) == ENOTFOUND {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	var team *Team
	err = s.store.Apply(ctx, Change{Rooms: []int64{roomID}, Run: func(ctx context.Context, tx Tx) error {
		team = nil
		room, p, teams, err := seatWithoutTeam(ctx, tx, roomID, user)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(teams, func(t *Team) bool { return t.ID == teamID })
		if i < 0 {
			return notFound
		}
		t := teams[i]
		if len(t.MemberIDs) >= *room.TeamSize {
			return Errorf(ETEAMFULL, "team %q is full: it has %d members, the room's teamSize", t.Name, *room.TeamSize)
		}
		if err := tx.AddTeamMember(ctx, t.ID, p.ID); err != nil {
			return err
		}
		joined := *t
		joined.MemberIDs = append(slices.Clone(t.MemberIDs), p.ID)
		team = &joined
		return nil
	}})
	if err != nil {
		return nil, err
	}
	s.markDirty(roomID)
	return team, nil
}

// Teams lists the room's teams in the order they were made, each with its
// members now and its rank and score in the latest snapshot (nil before
// a snapshot ranks it); none for a room without teams. Teams and their
// members are seen by whoever sees the room, as the leaderboard is.
func (v *View) Teams(ctx context.Context) ([]*Team, error) {
	if v.Room.TeamSize == nil {
		return []*Team{}, nil
	}
	var (
		teams []*Team
		snap  *LeaderboardSnapshot
	)
	err := v.s.store.Read(ctx, func(q Queries) error {
		var err error
		if teams, err = q.Teams(ctx, v.Room.ID); err != nil {
			return err
		}
		snap, err = q.LatestSnapshot(ctx, v.Room.ID)
		if ErrorCode(err) == ENOTFOUND {
			snap, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if snap != nil {
		byID := make(map[int64]TeamStanding, len(snap.Teams))
		for _, ts := range snap.Teams {
			byID[ts.Team.ID] = ts
		}
		for _, t := range teams {
			if ts, ok := byID[t.ID]; ok {
				r := ts.Ranked()
				t.Rank, t.Score = r.Rank, r.Score
			}
		}
	}
	return teams, nil
}

// TeamLeaderboard is Teams by rank in the latest snapshot (ties and the
// unranked in the order the teams were made, the unranked last).
func (v *View) TeamLeaderboard(ctx context.Context) ([]*Team, error) {
	teams, err := v.Teams(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(teams, func(a, b *Team) int {
		switch {
		case a.Rank == nil && b.Rank == nil:
			return 0
		case a.Rank == nil:
			return 1
		case b.Rank == nil:
			return -1
		}
		return cmp.Compare(*a.Rank, *b.Rank)
	})
	return teams, nil
}

// TeamMembers are t's members (t.MemberIDs), in that order, as the room's
// participants; seen by whoever sees the room.
//
// Errors: NOT_FOUND when t is not a team of this room.
func (v *View) TeamMembers(ctx context.Context, t *Team) ([]*Participant, error) {
	if t.BullPenID != v.Room.ID {
		return nil, Errorf(ENOTFOUND, "team not found")
	}
	participants, err := v.Participants(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*Participant, len(participants))
	for _, p := range participants {
		byID[p.ID] = p
	}
	out := make([]*Participant, 0, len(t.MemberIDs))
	for _, id := range t.MemberIDs {
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}
