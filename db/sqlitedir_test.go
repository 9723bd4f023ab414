package db_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db"
)

// A SQLite path whose directory cannot hold the database fails at Open with
// an error naming the directory and why, not the driver's bare "unable to
// open database file".
func TestOpenSQLiteNamesTheDirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		want       []string
	}{
		{"MissingDirectory", filepath.Join(dir, "nope", "bullpen.db"), []string{filepath.Join(dir, "nope"), "does not exist"}},
		{"PathUnderAFile", filepath.Join(file, "bullpen.db"), []string{file, "is not a directory"}},
	}
	if os.Geteuid() != 0 { // root may write anywhere: no read-only directory to try
		ro := filepath.Join(dir, "read-only")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct {
			name, path string
			want       []string
		}{"ReadOnlyDirectory", filepath.Join(ro, "bullpen.db"), []string{ro, "is not writable", "permission denied"}})
	} else {
		t.Log("running as root: the read-only directory case cannot fail, so it is left out")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := db.Open(context.Background(), "sqlite:"+tc.path, clockwork.NewFakeClock(), slog.New(slog.DiscardHandler))
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	// A writable directory leaves nothing of the check behind.
	s, err := db.Open(context.Background(), "sqlite:"+filepath.Join(dir, "ok.db"), clockwork.NewFakeClock(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	left, _ := filepath.Glob(filepath.Join(dir, ".bullpen-write-check-*"))
	if len(left) != 0 {
		t.Errorf("write check left %v", left)
	}
}
