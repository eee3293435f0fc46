package worker

import (
	"bytes"
	"errors"
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/postgres"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig(nil, env(nil), &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, DefaultConfig, cfg)
	require.Equal(t, postgres.DefaultPool, cfg.Pool)
	require.Equal(t, 10.0, cfg.PayerRate)
}

func TestConfigFromEnvironmentAndFlagsTheFlagWins(t *testing.T) {
	vars := map[string]string{
		"CASEFLOW_WORKER_WORKFLOW_TASKS":   "50",
		"CASEFLOW_WORKER_ACTIVITY_TASKS":   "60",
		"CASEFLOW_WORKER_LOCAL_ACTIVITIES": "70",
		"CASEFLOW_WORKER_WORKFLOW_POLLERS": "4",
		"CASEFLOW_WORKER_ACTIVITY_POLLERS": "3",
		"CASEFLOW_WORKER_STICKY_CACHE":     "500",
		"CASEFLOW_PAYER_RATE":              "0.5",
		"CASEFLOW_DB_MAX_OPEN_CONNS":       "8",
		"CASEFLOW_DB_MAX_IDLE_CONNS":       "4",
		"CASEFLOW_DB_CONN_MAX_LIFETIME":    "5m",
		"CASEFLOW_WORKER_STICKY_TIMEOUT":   "45s",
		"CASEFLOW_METRICS_ADDR":            "127.0.0.1:9464",
	}
	cfg, err := ParseConfig(nil, env(vars), &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, Config{
		MetricsAddr: "127.0.0.1:9464", WorkflowTasks: 50, ActivityTasks: 60, LocalActivities: 70,
		WorkflowPollers: 4, ActivityPollers: 3, StickyCache: 500, StickyTimeout: 45 * time.Second, PayerRate: 0.5,
		Pool: postgres.Pool{MaxOpenConns: 8, MaxIdleConns: 4, ConnMaxLifetime: 5 * time.Minute},
	}, cfg)

	cfg, err = ParseConfig([]string{"--workflow-tasks", "9", "--payer-rate=2", "-db-max-idle=0", "--db-conn-max-lifetime=0"}, env(vars), &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, 9, cfg.WorkflowTasks, "the flag wins over its variable")
	require.Equal(t, 2.0, cfg.PayerRate)
	require.Equal(t, 0, cfg.Pool.MaxIdleConns)
	require.Equal(t, time.Duration(0), cfg.Pool.ConnMaxLifetime)
	require.Equal(t, 60, cfg.ActivityTasks, "the others still come from the environment")
}

func TestConfigRefusesBadValuesNamingWhereTheyCameFrom(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		vars map[string]string
		want string
	}{
		{"workflow tasks 1 (the SDK panics)", nil, map[string]string{"CASEFLOW_WORKER_WORKFLOW_TASKS": "1"},
			`CASEFLOW_WORKER_WORKFLOW_TASKS="1": must be at least 2, or unset it for the default 1000`},
		{"not a number", []string{"--activity-tasks=lots"}, nil,
			`--activity-tasks="lots": not a whole number; set a number of at least 1, or leave the flag out for the default 1000`},
		{"workflow pollers 1 (the SDK panics)", []string{"--workflow-pollers", "1"}, nil, `--workflow-pollers="1": must be at least 2`},
		{"no activity pollers", nil, map[string]string{"CASEFLOW_WORKER_ACTIVITY_POLLERS": "0"}, `CASEFLOW_WORKER_ACTIVITY_POLLERS="0": must be at least 1`},
		{"no local activities", []string{"--local-activities=-3"}, nil, `--local-activities="-3": must be at least 1`},
		{"sticky timeout without a unit", []string{"--sticky-timeout=60"}, nil, `--sticky-timeout="60": not a duration; set e.g. 1m`},
		{"sticky timeout under a second", nil, map[string]string{"CASEFLOW_WORKER_STICKY_TIMEOUT": "500ms"}, `CASEFLOW_WORKER_STICKY_TIMEOUT="500ms": must be at least 1s`},
		{"no sticky cache", nil, map[string]string{"CASEFLOW_WORKER_STICKY_CACHE": "0"}, `CASEFLOW_WORKER_STICKY_CACHE="0": must be at least 1`},
		{"payer rate zero", nil, map[string]string{"CASEFLOW_PAYER_RATE": "0"}, `CASEFLOW_PAYER_RATE="0": must be more than 0`},
		{"payer rate not a number", []string{"--payer-rate=fast"}, nil, `--payer-rate="fast": not a number`},
		{"payer rate infinite", []string{"--payer-rate=+Inf"}, nil, `--payer-rate="+Inf": not a number`},
		{"no connections", nil, map[string]string{"CASEFLOW_DB_MAX_OPEN_CONNS": "0"}, `CASEFLOW_DB_MAX_OPEN_CONNS="0": must be at least 1, or unset it for the default 20`},
		{"more idle than open", []string{"--db-max-open=5"}, nil,
			`--db-max-idle (CASEFLOW_DB_MAX_IDLE_CONNS) 20 is more than --db-max-open (CASEFLOW_DB_MAX_OPEN_CONNS) 5: lower it or raise --db-max-open`},
		{"lifetime without a unit", nil, map[string]string{"CASEFLOW_DB_CONN_MAX_LIFETIME": "30"}, `CASEFLOW_DB_CONN_MAX_LIFETIME="30": not a duration; set e.g. 30m`},
		{"negative lifetime", []string{"--db-conn-max-lifetime=-1m"}, nil, `--db-conn-max-lifetime="-1m": must not be negative`},
		{"unknown flag", []string{"--workers=3"}, nil, "flag provided but not defined: -workers; see caseflow-worker --help"},
		{"argument", []string{"run"}, nil, `unexpected argument "run"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(tc.args, env(tc.vars), &bytes.Buffer{})
			var cerr *ConfigError
			require.ErrorAs(t, err, &cerr)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestConfigHelpListsEveryFlagWithItsVariableAndDefault(t *testing.T) {
	var out bytes.Buffer
	_, err := ParseConfig([]string{"--help"}, env(nil), &out)
	require.True(t, errors.Is(err, flag.ErrHelp))
	for _, s := range settings {
		require.Contains(t, out.String(), "--"+s.flag+"\n")
		def := s.def(DefaultConfig)
		if def == "" {
			def = `""`
		}
		require.Contains(t, out.String(), "env "+s.env+", default "+def+"\n")
	}
	require.Contains(t, out.String(), "env CASEFLOW_PAYER_RATE, default 10\n")
	require.Contains(t, out.String(), "env CASEFLOW_WORKER_STICKY_CACHE, default 10000\n")
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{30 * time.Minute: "30m", time.Hour: "1h", 90 * time.Minute: "1h30m", 0: "0s", 45 * time.Second: "45s", time.Hour + time.Second: "1h0m1s"} {
		require.Equal(t, want, shortDuration(d))
		back, err := time.ParseDuration(want)
		require.NoError(t, err)
		require.Equal(t, d, back)
	}
}
