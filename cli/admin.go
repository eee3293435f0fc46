package cli

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/codec"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/schema"
)

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create the database if missing and apply pending migrations",
		Long: `Create the database named in DATABASE_URL if it does not exist, then apply
the migrations embedded in this binary. Safe to run again: it applies only
what is pending, and concurrent runs wait for each other.`,
		Example: `  caseflow migrate
  DATABASE_URL=postgres://caseflow@db:5432/caseflow?sslmode=disable caseflow migrate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
			defer cancel()
			dsn := postgres.URLFromEnv()
			created, err := schema.EnsureDatabase(ctx, dsn)
			if err != nil {
				return care.Unavailablef("cannot create the database: %v; check DATABASE_URL and that PostgreSQL is running", rootCause(err))
			}
			db, err := sql.Open("postgres", dsn)
			if err != nil {
				return err
			}
			defer db.Close()
			applied, err := schema.Migrate(ctx, db)
			if err != nil {
				return err
			}
			current, _, err := schema.Version(ctx, db)
			if err != nil {
				return err
			}
			res := map[string]any{"database_created": created, "applied": applied, "version": current}
			if a.json() {
				return a.printJSON(res)
			}
			if created {
				fmt.Fprintln(a.out, "created the database")
			}
			fmt.Fprintf(a.out, "applied %d migration(s); schema at version %d\n", len(applied), current)
			return nil
		},
	}
}

func (a *app) keysCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the payload encryption keys",
	}
	var file, id string
	gen := &cobra.Command{
		Use:   "generate",
		Short: "Generate a new primary payload encryption key",
		Long: `Generate a random AES-256 key and make it the primary key of the key file:
new payloads are encrypted with it, and payloads written with the older keys
in the file still decode (key rotation). Keep the file out of version control.`,
		Example: `  caseflow keys generate
  caseflow keys generate --file /etc/caseflow/codec.keys --id k2026-12`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				id = "k" + time.Now().UTC().Format("20060102t150405")
			}
			if err := codec.GenerateKeyFile(file, id); err != nil {
				return err
			}
			kr, err := codec.LoadKeyringFile(file)
			if err != nil {
				return err
			}
			if os.Getenv(codec.EnvKeys) != "" {
				// Every binary reads the variable before any key file: the
				// new key is used only once it is there too.
				fmt.Fprintf(a.errOut, "caseflow: warning: %s is set, and caseflow reads it before %s: add the new key to it (id:base64key, first) or unset it, or key %s is not used\n",
					codec.EnvKeys, file, kr.PrimaryID())
			}
			if a.json() {
				return a.printJSON(map[string]any{"file": file, "primary": kr.PrimaryID(), "keys": kr.IDs()})
			}
			fmt.Fprintf(a.out, "key %s is now the primary key in %s (%d key(s))\n", kr.PrimaryID(), file, len(kr.IDs()))
			return nil
		},
	}
	gen.Flags().StringVar(&file, "file", envOr(codec.EnvKeyFile, codec.DefaultKeyFile), "key file to create or rotate")
	gen.Flags().StringVar(&id, "id", "", "key id (default: k + the current time)")
	cmd.AddCommand(gen)
	return cmd
}
