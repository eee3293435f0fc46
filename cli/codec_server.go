package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/codec"
)

// EnvCodecToken names the environment variable holding the codec server's
// token.
const EnvCodecToken = "CASEFLOW_CODEC_TOKEN"

// defaultUIOrigins are the addresses a browser opens the dev server's Web UI
// at (make run).
var defaultUIOrigins = []string{"http://localhost:8233", "http://127.0.0.1:8233"}

const codecServerHelp = `Serve the standard Temporal remote codec endpoints (POST /decode and /encode,
also under a prefix such as /<namespace>/decode), so that an authorised
engineer reads the case histories that caseflow encrypts, in the Temporal
Web UI or with "temporal workflow show --codec-endpoint". The keys come from
CASEFLOW_CODEC_KEYS or CASEFLOW_CODEC_KEY_FILE (default .caseflow/codec.keys),
as for the worker.

Every request needs the token, from the environment variable
CASEFLOW_CODEC_TOKEN or from --token-file (never a flag: the command line is
visible to every local user in ps). It is accepted two ways:

  Authorization: Bearer <token>      the temporal CLI (--codec-auth), scripts
  POST /ui/<token>/decode            the Web UI, which cannot send a header of
                                     its own; set its codec endpoint to
                                     http://<addr>/ui/<token>. Decode only.

Anything else gets 401. The token must be at least 20 letters, digits, '-',
'_', '.' or '~'; "caseflow codec-server token" makes one. Browsers may call
the server only from the --ui-origin origins (CORS).

Whoever holds the token reads every decrypted payload, and a token in the
URL is visible to anyone who can open the UI's settings: keep the UI and this
server private, and read docs/privacy.md before deploying it.

Logs go to stderr, one line per request: remote address, origin, namespace,
how it authenticated, number of payloads and status; never payload contents
or the token. Ctrl-C (or SIGTERM) stops the server cleanly.`

const codecServerExample = `  # what make run does; the dev server's UI then gets the codec endpoint
  # http://127.0.0.1:8081/ui/<token> (from a Temporal CLI env file, not argv)
  caseflow codec-server token --file .caseflow/codec.token
  caseflow codec-server --token-file .caseflow/codec.token

  # read a case's history decrypted with the temporal CLI (the token in its
  # environment rather than in --codec-auth, which ps shows)
  TEMPORAL_CODEC_ENDPOINT=http://127.0.0.1:8081 TEMPORAL_CODEC_AUTH="Bearer $(cat .caseflow/codec.token)" \
      temporal workflow show -w case-c-5c1d0e8f2a7b9c3d --detailed

  # a UI on another address, the token in a file
  caseflow codec-server --addr 127.0.0.1:9081 --token-file /run/secrets/codec-token \
      --ui-origin https://temporal-ui.internal.example`

// codecServerFlags are the flags of "codec-server".
type codecServerFlags struct {
	addr, tokenFile string
	origins         []string
	urlToken        bool
}

func (a *app) codecServerCommand() *cobra.Command {
	var f codecServerFlags
	cmd := &cobra.Command{
		Use:     "codec-server",
		Short:   "Decrypt payloads for the Temporal Web UI and the temporal CLI (remote codec server)",
		Long:    codecServerHelp,
		Example: codecServerExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runCodecServer(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8081", "address to listen on")
	fl.StringArrayVar(&f.origins, "ui-origin", defaultUIOrigins, "origin of a Temporal Web UI allowed to call the server from a browser, e.g. http://localhost:8233 (repeatable; replaces the defaults)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the token (default: the "+EnvCodecToken+" environment variable)")
	fl.BoolVar(&f.urlToken, "url-token", true, "also accept the token in the URL, POST /ui/<token>/decode, for the Web UI")
	cmd.AddCommand(a.codecTokenCommand())
	return cmd
}

// runCodecServer serves the codec endpoints until ctx ends.
func (a *app) runCodecServer(ctx context.Context, f codecServerFlags) error {
	logger := slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	token, source, err := codecToken(f.tokenFile, logger)
	if err != nil {
		return err
	}
	kr, err := codec.LoadKeyring()
	if err != nil {
		return err
	}
	for _, o := range f.origins {
		if err := checkOrigin(o); err != nil {
			return err
		}
	}
	h, err := codec.NewServer(kr, codec.ServerOptions{
		Token: token, AllowedOrigins: f.origins, URLToken: f.urlToken, Logger: logger,
	})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		return care.Errorf(care.KindInvalid, "--addr: cannot listen on %s: %v; pick a free address, e.g. --addr 127.0.0.1:8091 (and point the UI's codec endpoint at it)", f.addr, rootCause(err))
	}
	if !isLoopback(l.Addr()) {
		logger.Warn("the codec server listens beyond loopback over plain HTTP; put it behind TLS and your SSO (docs/privacy.md)", "addr", l.Addr().String())
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	url := "http://" + l.Addr().String()
	logger.Info("codec server listening", "url", url, "ui_endpoint", url+codec.UIPathPrefix+"<token>",
		"ui_origins", strings.Join(f.origins, ","), "url_token", f.urlToken, "token_from", source,
		"keys", strings.Join(kr.IDs(), ","), "primary_key", kr.PrimaryID())
	if a.json() {
		if err := a.printJSON(map[string]any{"url": url, "ui_origins": f.origins, "url_token": f.urlToken, "keys": kr.IDs()}); err != nil {
			return err
		}
	} else {
		ui := "the UI's codec endpoint: " + url + codec.UIPathPrefix + "<token>"
		if !f.urlToken {
			ui = "tokens in the URL are off (--url-token=false)"
		}
		fmt.Fprintf(a.out, "codec server listening on %s (keys %s); Ctrl-C stops it\n%s\n", url, strings.Join(kr.IDs(), ", "), ui)
	}
	return serveUntilDone(ctx, "codec server", srv, served, logger)
}

// serveUntilDone waits until srv fails (served) or ctx ends, then shuts it
// down within 5 s.
func serveUntilDone(ctx context.Context, name string, srv *http.Server, served <-chan error, logger *slog.Logger) error {
	select {
	case err := <-served:
		return fmt.Errorf("%s: %v", name, err)
	case <-ctx.Done():
	}
	logger.Info(name + " stopping")
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(stopCtx); err != nil {
		return fmt.Errorf("%s: stop: %v", name, err)
	}
	logger.Info(name + " stopped")
	return nil
}

func (a *app) codecTokenCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make a random token for the codec server",
		Long: `Print a new random token for the codec server (32 random bytes, base64url),
or with --file write it to a file with mode 0600, unless the file already
exists. Give the token to the codec server in CASEFLOW_CODEC_TOKEN or
--token-file, and to engineers who may read decrypted histories.`,
		Example: `  caseflow codec-server token --file .caseflow/codec.token
  echo "CASEFLOW_CODEC_TOKEN=$(caseflow codec-server token)" >> .env`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return fmt.Errorf("cannot generate a token: %v", err)
			}
			token := base64.RawURLEncoding.EncodeToString(b)
			if file == "" {
				if a.json() {
					return a.printJSON(map[string]string{"token": token})
				}
				fmt.Fprintln(a.out, token)
				return nil
			}
			wrote := func(created bool, text string) error {
				if a.json() {
					return a.printJSON(map[string]any{"file": file, "created": created})
				}
				fmt.Fprintln(a.out, text)
				return nil
			}
			if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
				return care.Errorf(care.KindInvalid, "--file: %v", err)
			}
			f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				return wrote(false, file+" already exists; kept it")
			}
			if err != nil {
				return care.Errorf(care.KindInvalid, "--file: %v", err)
			}
			if _, err := fmt.Fprintln(f, token); err != nil {
				f.Close()
				return care.Errorf(care.KindInvalid, "--file: %v", err)
			}
			if err := f.Close(); err != nil {
				return care.Errorf(care.KindInvalid, "--file: %v", err)
			}
			return wrote(true, "wrote a new codec server token to "+file)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "write the token to this file (mode 0600) instead of printing it")
	return cmd
}

// codecToken reads the codec server token from --token-file, else from
// CASEFLOW_CODEC_TOKEN, and checks it. Errors never contain the token.
func codecToken(file string, logger *slog.Logger) (token, source string, err error) {
	switch {
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return "", "", care.Errorf(care.KindInvalid, "--token-file: %v", err)
		}
		if st, err := os.Stat(file); err == nil && st.Mode().Perm()&0o077 != 0 {
			logger.Warn("the token file is readable by other users; chmod 600 it", "file", file)
		}
		token, source = strings.TrimSpace(string(data)), "--token-file "+file
		if token == "" {
			return "", "", care.Errorf(care.KindInvalid, "--token-file: %s is empty; make a token with \"caseflow codec-server token --file %s\"", file, file)
		}
	case os.Getenv(EnvCodecToken) != "":
		token, source = strings.TrimSpace(os.Getenv(EnvCodecToken)), EnvCodecToken
	default:
		return "", "", care.Errorf(care.KindInvalid, "no codec server token: set %s or pass --token-file (\"caseflow codec-server token\" makes one)", EnvCodecToken)
	}
	if err := codec.ValidToken(token); err != nil {
		return "", "", care.Errorf(care.KindInvalid, "%s: %v", source, err)
	}
	return token, source, nil
}

// checkOrigin checks that o is a browser origin: scheme://host[:port], no
// path.
func checkOrigin(o string) error {
	scheme, rest, ok := strings.Cut(o, "://")
	if !ok || (scheme != "http" && scheme != "https") || rest == "" || strings.ContainsAny(rest, "/?#") {
		return care.Errorf(care.KindInvalid, "--ui-origin: %q is not an origin; write it as scheme://host[:port] with no path, e.g. http://localhost:8233", o)
	}
	return nil
}
