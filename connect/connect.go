// Package connect dials the services caseflow's binaries share: Temporal,
// from the standard Temporal environment configuration, with caseflow's
// payload encryption always on.
package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	sdklog "go.temporal.io/sdk/log"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/codec"
)

// Temporal connects to Temporal from the standard environment configuration
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_PROFILE, the config file),
// encrypting payloads with the keyring from codec.LoadKeyring. It fails
// within a few seconds when Temporal cannot be reached, saying how to fix it,
// with an error of kind care.KindUnavailable. A payload it cannot decrypt is an
// error (codec.Apply).
func Temporal(ctx context.Context, logger *slog.Logger) (client.Client, error) {
	c, _, err := dial(ctx, logger, codec.Apply)
	return c, err
}

// Worker connects like Temporal for a worker: a payload the worker cannot
// decrypt fails the task, never the workflow (codec.ApplyWorker). It also
// returns the keyring, for worker.CheckKeyring.
func Worker(ctx context.Context, logger *slog.Logger) (client.Client, *codec.Keyring, error) {
	return dial(ctx, logger, func(opts *client.Options, kr *codec.Keyring) { codec.ApplyWorker(opts, kr, logger) })
}

func dial(ctx context.Context, logger *slog.Logger, apply func(*client.Options, *codec.Keyring)) (client.Client, *codec.Keyring, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("temporal configuration: %w", err)
	}
	if opts.HostPort == "" {
		opts.HostPort = client.DefaultHostPort
	}
	kr, err := codec.LoadKeyring()
	if err != nil {
		// A missing or malformed key is configuration to fix, like a bad flag.
		return nil, nil, &care.Error{Kind: care.KindInvalid, Message: err.Error(), Err: err}
	}
	apply(&opts, kr)
	opts.Logger = sdklog.NewStructuredLogger(slog.New(sdkLogHandler{logger.Handler()}))
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		ns := opts.Namespace
		if ns == "" {
			ns = client.DefaultNamespace
		}
		return nil, nil, care.Unavailablef("cannot reach Temporal at %s (namespace %s): %v; start it with \"make run\" or set TEMPORAL_ADDRESS", opts.HostPort, ns, RootCause(err))
	}
	return c, kr, nil
}

// RootCause strips the wrapping of gRPC and SDK errors down to the message
// that says what went wrong.
func RootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// WorkerWithMetrics is Worker with the SDK's metrics reported to h (nil:
// none).
func WorkerWithMetrics(ctx context.Context, logger *slog.Logger, h client.MetricsHandler) (client.Client, *codec.Keyring, error) {
	return dial(ctx, logger, func(opts *client.Options, kr *codec.Keyring) {
		codec.ApplyWorker(opts, kr, logger)
		opts.MetricsHandler = h
	})
}
