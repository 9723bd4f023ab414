package server

import (
	"testing"

	"github.com/bullpen/bullpen/internal/testbin"
)

func TestMain(m *testing.M) { testbin.MainWithoutLeaks(m) }
