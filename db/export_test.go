package db

// QueuedChanges counts the changes waiting for the group committers.
func QueuedChanges(s *Store) int {
	n := 0
	for _, c := range s.committers {
		c.mu.Lock()
		n += len(c.queue)
		c.mu.Unlock()
	}
	return n
}

// Committers counts the store's group committers.
func Committers(s *Store) int { return len(s.committers) }

// Running counts the committers whose goroutine has not returned.
func Running(s *Store) int {
	n := 0
	for _, c := range s.committers {
		select {
		case <-c.exit:
		default:
			n++
		}
	}
	return n
}

// EntryChunk is how many leaderboard entries one INSERT writes.
const EntryChunk = rowsChunk

// MigrationsFS returns the embedded migrations of d and goose's dialect.
var MigrationsFS = migrationsOf

// Closing reports whether Close has begun stopping every group committer.
func Closing(s *Store) bool {
	for _, c := range s.committers {
		c.mu.Lock()
		shut := c.shut
		c.mu.Unlock()
		if !shut {
			return false
		}
	}
	return true
}
