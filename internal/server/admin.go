package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/jonboulle/clockwork"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/game"
)

const adminUsage = `Usage:
  bullpen admin grant NAME    give the account NAME the admin role
  bullpen admin revoke NAME   take it back
  bullpen admin list          list the accounts that hold it

The role is stored with the account in the database (-db, or BULLPEN_DB);
a running server sees a change at its next admin operation. Accounts named
by the server's -admins flag hold the role too, for as long as that server
runs, if they existed when it started.

Flags:
`

// runAdmin is the admin subcommand: it grants, revokes or lists the admin
// role stored in the database, beside or without a running server.
func runAdmin(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bullpen admin", flag.ContinueOnError)
	dsn := "sqlite:bullpen.db"
	if v := getenv("BULLPEN_DB"); v != "" {
		dsn = v
	}
	fs.StringVar(&dsn, "db", dsn, "database: sqlite:PATH or a postgres:// URL (BULLPEN_DB)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), adminUsage)
		fs.PrintDefaults()
	}
	// Flags may come before, between or after the words.
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		words = append(words, fs.Arg(0))
		args = fs.Args()[1:]
	}
	want := map[string]int{"grant": 1, "revoke": 1, "list": 0}
	if len(words) == 0 {
		return errors.New("admin: say grant NAME, revoke NAME or list (bullpen admin -help)")
	}
	n, ok := want[words[0]]
	if !ok {
		return fmt.Errorf("admin: unknown command %q: want grant NAME, revoke NAME or list", words[0])
	}
	if len(words)-1 != n {
		if n == 1 {
			return fmt.Errorf("admin %s: want exactly one account name, got %d", words[0], len(words)-1)
		}
		return fmt.Errorf("admin %s: takes no name, got %q", words[0], words[1:])
	}
	if err := db.CheckDSN(dsn); err != nil {
		return fmt.Errorf("-db: %w", err)
	}
	if dsn == "sqlite::memory:" {
		return errors.New("-db: an in-memory database lives only inside its server: name the server's database file or URL")
	}
	// An account lives in a server's database: never make a new one,
	// where the account could not be (a mistyped or forgotten -db).
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("admin %s: no database at %s (-db %s): name the server's database with -db or BULLPEN_DB", words[0], path, dsn)
		}
	}
	clock := clockwork.NewRealClock()
	store, err := db.Open(ctx, dsn, clock, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer store.Close()
	svc := game.NewService(game.Config{Store: store, Clock: clock})
	switch words[0] {
	case "list":
		admins, err := svc.Admins(ctx)
		if err != nil {
			return err
		}
		for _, u := range admins {
			fmt.Fprintln(stdout, u.Username)
		}
		return nil
	case "grant", "revoke":
		grant := words[0] == "grant"
		u, err := svc.SetAdmin(ctx, words[1], grant)
		if game.ErrorCode(err) == game.ENOTFOUND {
			return fmt.Errorf("admin %s: %s in %s: the account must exist (sign up first), in the server's database (-db or BULLPEN_DB)", words[0], game.ErrorMessage(err), RedactDSN(dsn))
		} else if err != nil {
			return err
		}
		if grant {
			fmt.Fprintf(stdout, "%s now holds the admin role\n", u.Username)
		} else {
			fmt.Fprintf(stdout, "%s no longer holds the admin role (unless a running server's -admins names it)\n", u.Username)
		}
	}
	return nil
}
