// Command pgserve finds and runs Postgres servers through devdb for tests outside this module:
// the e2e module keeps its dependencies (Argo CD's) apart from this one's, so it runs this
// program rather than importing devdb, and Postgres is still found and started one way.
//
//	pgserve -find                       prints the server binaries devdb.FindServer chooses
//	pgserve [-bin D] [-dir D] -port P   starts a server on 127.0.0.1:P and prints its
//	                                    directory, then its superuser URL; stops it and
//	                                    removes its files when stdin closes or on SIGTERM
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/schemahook/schemahook/devdb"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pgserve:", err)
		os.Exit(1)
	}
}

func run() error {
	find := flag.Bool("find", false, "print the directory of the server binaries and exit")
	bin := flag.String("bin", "", "server binaries to use (default: found as devdb.FindServer does)")
	dir := flag.String("dir", "", "parent of the server's temporary directory (default: $TMPDIR)")
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 to listen on")
	flag.Parse()
	if *find {
		b, err := devdb.FindServer(0)
		if err != nil {
			return err
		}
		fmt.Println(b.Dir)
		return nil
	}
	if *port <= 0 {
		return fmt.Errorf("-port is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := devdb.Start(ctx, devdb.Options{BinDir: *bin, Dir: *dir, Port: *port})
	if err != nil {
		return err
	}
	fmt.Println(s.Dir())
	fmt.Println(s.URL("postgres"))
	// The parent holds stdin open: when it closes (or the parent dies), stop.
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	<-ctx.Done()
	return s.Stop()
}
