package graph

import (
	"context"

	"github.com/bullpen/bullpen/game"
)

type assignmentsKey struct{ room int64 }

// assignmentBoard is the progress on room v's assignments the caller may
// see, worked out once per response for every participant at once: a
// leaderboard listing each participant's assignments costs a few queries,
// not a few per participant.
func (r *Resolver) assignmentBoard(ctx context.Context, v *game.View) (*game.AssignmentBoard, error) {
	return remember(ctx, assignmentsKey{v.Room.ID}, func() (*game.AssignmentBoard, error) {
		return v.AssignmentProgress(ctx)
	})
}

// assignmentsOf is p's progress on its room's assignments, empty for a
// caller who may not see p's orders (as ledger leaves them out).
func (r *Resolver) assignmentsOf(ctx context.Context, p *game.Participant) ([]*game.AssignmentProgress, error) {
	v, err := r.view(ctx, p.BullPenID)
	if err != nil {
		return nil, err
	}
	b, err := r.assignmentBoard(ctx, v)
	if err != nil {
		return nil, err
	}
	progress, ok := b.Of(p.ID)
	out := make([]*game.AssignmentProgress, 0, len(progress))
	if !ok {
		return out, nil
	}
	for i := range progress {
		out = append(out, &progress[i])
	}
	return out, nil
}
