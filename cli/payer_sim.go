package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/payer"
)

const payerSimHelp = `Run a simulated insurer (payer) that answers prior-authorization requests the
way caseflow's payer client expects (a simplified Da Vinci PAS API):
  POST /Claim/$submit          submit a request
  GET  /ClaimResponse/{id}     inquire about a pended request

Behaviour per service code comes from --config (see demo/payer.json and
docs/coordination.md): approve, deny with a reason, pend then decide after a
delay, fail with 5xx for a number of requests or a while, answer slowly.
Without --config every request is approved.

The worker finds it at CASEFLOW_PAYER_URL (default ` + payer.DefaultURL + `).
State lives in memory and is lost when the simulator stops. Logs go to stderr
and name service codes and request ids, never patients. Ctrl-C (or SIGTERM)
stops it cleanly.`

func (a *app) payerSimCommand() *cobra.Command {
	var addr, config string
	cmd := &cobra.Command{
		Use:   "payer-sim",
		Short: "Run the insurer prior-authorization simulator (an HTTP server on loopback)",
		Long:  payerSimHelp,
		Example: `  caseflow payer-sim --config demo/payer.json
  caseflow payer-sim --addr 127.0.0.1:0 --config payer.json --output json   # prints {"url": ...} once listening`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
			cfg := payer.SimConfig{}
			if config != "" {
				data, err := os.ReadFile(config)
				if errors.Is(err, os.ErrNotExist) {
					return care.Errorf(care.KindInvalid, "--config: %s does not exist; pass a simulator config such as demo/payer.json, or leave --config out to approve everything", config)
				}
				if err != nil {
					return care.Errorf(care.KindInvalid, "--config: %v", err)
				}
				if cfg, err = payer.ParseSimConfig(data); err != nil {
					return care.Errorf(care.KindInvalid, "--config %s: %v; see demo/payer.json for the format", config, err)
				}
			}
			sim, err := payer.NewSimulator(cfg, logger)
			if err != nil {
				return care.Errorf(care.KindInvalid, "--config %s: %v", config, err)
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return care.Errorf(care.KindInvalid, "--addr: cannot listen on %s: %v; pick a free address, e.g. --addr 127.0.0.1:8091 (and set CASEFLOW_PAYER_URL to match)", addr, rootCause(err))
			}
			url := "http://" + l.Addr().String()
			if !isLoopback(l.Addr()) {
				logger.Warn("the payer simulator listens beyond loopback and has no authentication", "addr", l.Addr().String())
			}
			// Requests run under the command's context, so a slow answer
			// in progress ends at once when the simulator is stopped.
			srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second,
				BaseContext: func(net.Listener) context.Context { return cmd.Context() }}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(l) }()

			source := config
			if source == "" {
				source = "none: approve everything"
			}
			logger.Info("payer simulator listening", "url", url, "config", source, "services", len(cfg.Services))
			if a.json() {
				if err := a.printJSON(map[string]string{"url": url, "config": config}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(a.out, "payer simulator listening on %s (config: %s); Ctrl-C stops it\nthe worker uses it when CASEFLOW_PAYER_URL=%s (the default is %s)\n", url, source, url, payer.DefaultURL)
			}

			return serveUntilDone(cmd.Context(), "payer simulator", srv, served, logger)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8090", "address to listen on (keep it on loopback: the simulator has no authentication)")
	cmd.Flags().StringVar(&config, "config", "", "JSON file with the behaviour per service code, e.g. demo/payer.json (default: approve everything)")
	return cmd
}

func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
