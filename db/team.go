package db

import (
	"context"
	"strings"

	"github.com/bullpen/bullpen/game"
)

// Teams (see game/team.go): a room's teams and their members.

const teamCols = `id, bull_pen_id, name, created_at`

// teamMember is one row of team_members.
type teamMember struct {
	TeamID        int64 `db:"team_id"`
	ParticipantID int64 `db:"participant_id"`
}

// Teams lists room bullPenID's teams by id, each with its members in the
// order they joined.
func (q queries) Teams(ctx context.Context, bullPenID int64) ([]*game.Team, error) {
	var teams []*game.Team
	if err := q.sel(ctx, &teams, `SELECT `+teamCols+` FROM teams WHERE bull_pen_id = ? ORDER BY id`, bullPenID); err != nil {
		return nil, err
	}
	var members []teamMember
	if err := q.sel(ctx, &members, `SELECT m.team_id, m.participant_id FROM team_members m
		JOIN teams t ON t.id = m.team_id WHERE t.bull_pen_id = ? ORDER BY m.id`, bullPenID); err != nil {
		return nil, err
	}
	byID := make(map[int64]*game.Team, len(teams))
	for _, t := range teams {
		t.CreatedAt = t.CreatedAt.UTC()
		t.MemberIDs = []int64{}
		byID[t.ID] = t
	}
	for _, m := range members {
		if t := byID[m.TeamID]; t != nil {
			t.MemberIDs = append(t.MemberIDs, m.ParticipantID)
		}
	}
	if teams == nil {
		teams = []*game.Team{}
	}
	return teams, nil
}

// Team reads team id with its members in the order they joined.
func (q queries) Team(ctx context.Context, id int64) (*game.Team, error) {
	var t game.Team
	if err := q.get(ctx, &t, "team", `SELECT `+teamCols+` FROM teams WHERE id = ?`, id); err != nil {
		return nil, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	t.MemberIDs = []int64{}
	if err := q.sel(ctx, &t.MemberIDs, `SELECT participant_id FROM team_members WHERE team_id = ? ORDER BY id`, id); err != nil {
		return nil, err
	}
	return &t, nil
}

// InsertTeam stores t, without members, and sets its id. Its name_key
// (the name in lower case) keeps two teams of a room from sharing a name.
func (q writes) InsertTeam(ctx context.Context, t *game.Team) (err error) {
	t.ID, err = q.insertID(ctx, `INSERT INTO teams (bull_pen_id, name, name_key, created_at) VALUES (?, ?, ?, ?)`,
		t.BullPenID, t.Name, strings.ToLower(t.Name), t.CreatedAt)
	return formatError(err)
}

// AddTeamMember puts participantID in team teamID, stamped now; a
// participant is unique in team_members, so a second team is a CONFLICT.
func (tx *Tx) AddTeamMember(ctx context.Context, teamID, participantID int64) error {
	_, err := tx.exec(ctx, `INSERT INTO team_members (participant_id, team_id, joined_at) VALUES (?, ?, ?)`,
		participantID, teamID, tx.now)
	return formatError(err)
}
