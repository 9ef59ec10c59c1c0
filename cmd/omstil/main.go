// Command omstil is call-queue management for Asterisk: one binary that
// serves the web UI and API, talks to Asterisk over ARI and bridges the
// browser softphone.
//
//	omstil [serve]              run (default; demo mode without OMSTIL_ARI_URL)
//	omstil migrate [--status]   apply database migrations and exit
//	omstil user create ...      create a user
//	omstil token create ...     create an API token
//	omstil doctor               check the installation end to end
//	omstil version
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // Europe/Copenhagen on machines without zoneinfo
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "omstil: shutting down (signal again to force)")
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "omstil: forced exit")
		os.Exit(2)
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
