package db

// QueuedChanges counts the changes waiting for the group committer.
func QueuedChanges(s *Store) int {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return len(s.group.queue)
}

// EntryChunk is how many leaderboard entries one INSERT writes.
const EntryChunk = rowsChunk

// MigrationsFS returns the embedded migrations of d and goose's dialect.
var MigrationsFS = migrationsOf

// Closing reports whether Close has begun stopping the group committer.
func Closing(s *Store) bool {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return s.group.shut
}
