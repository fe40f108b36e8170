// Command serve is the small static server behind `./build.sh serve`: it serves the built site
// (index.html, js/, public/) on 127.0.0.1, with application/wasm for .wasm, the precompressed
// .br/.gz twin of a file when the browser accepts it, and a Content-Security-Policy that keeps
// the page on its own origin. It prints the URL it listens on.
//
//	PORT=8080 go run ./cmd/serve -root .
//
// PORT=0 picks a free port (the browser tests use that).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	root := flag.String("root", ".", "site root: the folder holding index.html, js/ and public/")
	host := flag.String("host", "127.0.0.1", "address to listen on (loopback by default: the app needs no network)")
	quiet := flag.Bool("q", false, "do not log requests")
	flag.Parse()

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	abs, err := filepath.Abs(*root)
	if err != nil {
		log.Fatalf("serve: %v", err)
	}
	if _, err := os.Stat(filepath.Join(abs, "index.html")); err != nil {
		log.Fatalf("serve: %s has no index.html (run ./build.sh web first, or pass -root)", abs)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, port))
	if err != nil {
		log.Fatalf("serve: %v (set PORT to another port)", err)
	}
	var h http.Handler = NewSite(abs)
	if !*quiet {
		h = logRequests(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("finetuner: serving %s at http://%s/\n", abs, ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("serve: %v", err)
	}
}

func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		h.ServeHTTP(rec, r)
		log.Printf("%d %s %s %s", rec.status, r.Method, r.URL.Path, w.Header().Get("Content-Encoding"))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
