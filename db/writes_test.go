package db_test

import (
	"reflect"
	"testing"

	"github.com/bullpen/bullpen/db"
	"github.com/bullpen/bullpen/game"
)

// storeOwn are the methods *db.Store has of its own, beside game.Queries:
// none of them writes a row outside a transaction of Update or Apply.
var storeOwn = map[string]bool{
	"Update": true, "Apply": true, "Read": true, "OnCommit": true, "Listen": true, "Leader": true,
	"Ready": true, "Close": true, "Dialect": true, "DB": true, "GroupCommits": true,
}

// TestStoreHasNoWrites fails when *db.Store has a write: one of game.Tx's
// methods that game.Queries lacks, or any other method than the reads
// and its own. A write there would run outside any transaction, past the
// SQLite write lock, the row caches and the commit hooks.
func TestStoreHasNoWrites(t *testing.T) {
	reads := reflect.TypeFor[game.Queries]()
	tx := reflect.TypeFor[game.Tx]()
	store := reflect.TypeFor[*db.Store]()
	writes := 0
	for m := range tx.Methods() {
		if _, ok := reads.MethodByName(m.Name); ok {
			continue
		}
		writes++
		if _, ok := store.MethodByName(m.Name); ok {
			t.Errorf("db.Store has %s, a write of game.Tx: writes belong to the transaction only", m.Name)
		}
	}
	if writes == 0 {
		t.Fatal("game.Tx lists no method beyond game.Queries: nothing was checked")
	}
	for m := range store.Methods() {
		if _, ok := reads.MethodByName(m.Name); !ok && !storeOwn[m.Name] {
			t.Errorf("db.Store has %s, neither a read of game.Queries nor one of its own known methods: "+
				"a write belongs to the transaction (Tx); a new method of the store's own goes in storeOwn", m.Name)
		}
	}
}
