// Command bullpen is a GraphQL server for real-time paper-trading
// competitions. See README.md; internal/server assembles it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/bullpen/bullpen/internal/server"
)

//go:generate go run github.com/99designs/gqlgen generate --config gqlgen.yml

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := server.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, nil); errors.Is(err, flag.ErrHelp) {
		return // -help: the usage is printed
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "bullpen:", err)
		os.Exit(1)
	}
}
