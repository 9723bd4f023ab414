package db_test

import (
	"context"
	"fmt"
	"testing"
)

// TestSQLiteStatementCache: a connection reuses its compiled statements,
// yet the same query runs again while its first rows are still open, and
// a statement that does not compile still reports its error.
func TestSQLiteStatementCache(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, sqliteBackend)
	for _, name := range []string{"ann", "bob", "cyd"} {
		addUser(t, s, name)
	}
	conn, err := s.DB().Connx(ctx) // one connection, so both queries share it
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const q = `SELECT username FROM users ORDER BY username`
	for round := range 3 {
		rows, err := conn.QueryxContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var outer []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			var inner []string
			if err := conn.SelectContext(ctx, &inner, q); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(inner) != "[ann bob cyd]" {
				t.Errorf("round %d: nested query = %v", round, inner)
			}
			outer = append(outer, name)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(outer) != "[ann bob cyd]" {
			t.Errorf("round %d: query = %v", round, outer)
		}
	}
	if _, err := conn.ExecContext(ctx, `UPDATE nowhere SET x = 1`); err == nil {
		t.Error("a statement on a missing table succeeded")
	}
}
