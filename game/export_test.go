package game

import "time"

// SetStopwatch makes s measure how long its work took with f (time.Since
// by default), so a test can say a snapshot took long.
func SetStopwatch(s *Service, f func(start time.Time) time.Duration) { s.stopwatch = f }
