package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/loader"
	"github.com/compose-spec/compose-go/types"
	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/worker"
)

// loadCompose loads docker-compose.yml as docker compose does (compose-go,
// the Compose Specification's reference loader, with its schema
// validation), with the two secrets it requires set.
func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	mapping := types.Mapping{
		"CASEFLOW_CODEC_KEYS":  "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"CASEFLOW_CODEC_TOKEN": "abcdefghijklmnopqrstuvwxyz",
	}
	for k, v := range env {
		mapping[k] = v
	}
	p, err := loader.Load(types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: mapping,
	}, func(o *loader.Options) { o.SetProjectName("caseflow", true) })
	require.NoError(t, err, "docker-compose.yml is not a valid Compose file")
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	require.NoError(t, err)
	return s
}

func environment(s types.ServiceConfig) map[string]string {
	out := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// TestComposeWorkerGetsEveryTuningSettingAtItsDefault: the worker's
// compose environment names every setting, and with nothing set in .env it
// is the worker's own default (the metrics address excepted: the stack
// serves metrics on :9464).
func TestComposeWorkerGetsEveryTuningSettingAtItsDefault(t *testing.T) {
	env := environment(service(t, loadCompose(t, nil), "caseflow-worker"))
	for _, s := range worker.Settings() {
		require.Contains(t, env, s.Env, "caseflow-worker's compose environment sets %s", s.Env)
	}
	require.Equal(t, ":9464", env["CASEFLOW_METRICS_ADDR"])
	cfg, err := worker.ParseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	cfg.MetricsAddr = ""
	require.Equal(t, worker.DefaultConfig, cfg)

	// A value from .env or the shell reaches the worker.
	env = environment(service(t, loadCompose(t, map[string]string{"CASEFLOW_PAYER_RATE": "2.5", "CASEFLOW_DB_MAX_OPEN_CONNS": "40"}), "caseflow-worker"))
	cfg, err = worker.ParseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 2.5, cfg.PayerRate)
	require.Equal(t, 40, cfg.Pool.MaxOpenConns)
}

// TestComposeLoadsProviderSlotsBeforeTheWorker: a one-shot service loads
// the demo's providers after the migration, as "make run" does, and the
// worker starts after it.
func TestComposeLoadsProviderSlotsBeforeTheWorker(t *testing.T) {
	p := loadCompose(t, nil)
	slots := service(t, p, "caseflow-providers")
	require.Equal(t, []string{"caseflow", "providers", "load", "/usr/share/caseflow/demo/providers.json"}, []string(slots.Command))
	require.Equal(t, "no", slots.Restart)
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, slots.DependsOn["caseflow-migrate"].Condition)
	require.Equal(t, types.ServiceConditionCompletedSuccessfully, service(t, p, "caseflow-worker").DependsOn["caseflow-providers"].Condition)
	dockerfile, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	require.NoError(t, err)
	require.Contains(t, string(dockerfile), "COPY demo/ /usr/share/caseflow/demo/", "the image ships demo/providers.json")
}

// TestComposeDocListsEveryVariable: docs/docker-compose.md names every
// variable the caseflow containers are given and every worker setting.
func TestComposeDocListsEveryVariable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "docker-compose.md"))
	require.NoError(t, err)
	p := loadCompose(t, nil)
	for _, s := range p.Services {
		if !strings.HasPrefix(s.Name, "caseflow-") {
			continue
		}
		for k := range environment(s) {
			require.True(t, strings.Contains(string(doc), "`"+k+"`"), "docs/docker-compose.md names %s (service %s)", k, s.Name)
		}
	}
	for _, s := range worker.Settings() {
		require.True(t, strings.Contains(string(doc), "`"+s.Env+"`"), "docs/docker-compose.md names %s", s.Env)
	}
}
