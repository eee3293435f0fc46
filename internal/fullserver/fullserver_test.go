package fullserver

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
)

func TestFreePortsFitPostgresSmallint(t *testing.T) {
	pp, err := freePorts(9)
	require.NoError(t, err)
	seen := map[int]bool{}
	for _, p := range pp {
		require.True(t, p >= 10000 && p <= 32767, "port %d: membership ports are a smallint on PostgreSQL", p)
		require.False(t, seen[p], "port %d picked twice", p)
		seen[p] = true
	}
}

func TestOptionsAreChecked(t *testing.T) {
	_, err := parseAttributes([]string{"CasePhase"})
	require.ErrorContains(t, err, "want Name=Type")
	_, err = parseAttributes([]string{"CasePhase=Word"})
	require.ErrorContains(t, err, `unknown type "Word"`)
	m, err := parseAttributes([]string{"CasePhase=Keyword", "CaseNextDue=Datetime", "CasePaused=Bool"})
	require.NoError(t, err)
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_DATETIME, m["CaseNextDue"])

	c, admin, err := parsePostgres("postgres://u:secret@db.example:6543/caseflow?sslmode=disable")
	require.NoError(t, err)
	require.Equal(t, pgConn{host: "db.example", port: "6543", user: "u", password: "secret"}, c)
	require.Equal(t, "postgres://u:secret@db.example:6543/postgres?sslmode=disable", admin)
	_, _, err = parsePostgres("postgres://u@db.example/x?sslmode=require")
	require.ErrorContains(t, err, "sslmode=require")

	_, err = Start(context.Background(), Options{ServerBin: "/nonexistent/temporal-server", SQLToolBin: "/nonexistent/sql"})
	require.ErrorContains(t, err, `run "make tools"`)
}

// TestStartRegistersAndStopCleansUp runs the real server: its namespace and
// search attributes exist, and Stop drops both databases and the directory.
func TestStartRegistersAndStopCleansUp(t *testing.T) {
	root, _ := filepath.Abs("../..")
	srvBin, toolBin := DefaultBins(root)
	s, err := Start(context.Background(), Options{ServerBin: srvBin, SQLToolBin: toolBin, Logf: t.Logf,
		DynamicConfigFile: filepath.Join(root, "deploy", "temporal", "dynamicconfig", "development-sql.yaml"),
		SearchAttributes:  []string{"CasePhase=Keyword", "CaseNextDue=Datetime", "CasePaused=Bool"}})
	require.NoError(t, err)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = s.Stop(t.Failed())
		}
	})
	dbs := s.Databases()
	require.Len(t, dbs, 2)

	c, err := s.dial(context.Background())
	require.NoError(t, err)
	resp, err := c.OperatorService().ListSearchAttributes(context.Background(), &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	c.Close()
	require.NoError(t, err)
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, resp.GetCustomAttributes()["CasePhase"])
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_BOOL, resp.GetCustomAttributes()["CasePaused"])

	require.NoError(t, s.Stop(false))
	stopped = true
	_, err = os.Stat(s.Dir())
	require.True(t, os.IsNotExist(err), "directory %s removed", s.Dir())
	admin, err := sql.Open("postgres", s.adminURL)
	require.NoError(t, err)
	defer admin.Close()
	for _, db := range dbs {
		var n int
		require.NoError(t, admin.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, db).Scan(&n))
		require.Zero(t, n, "database %s dropped", db)
	}
}

// TestComposeDynamicConfigIsValid checks deploy/temporal/dynamicconfig with
// the server's own validator: every key known, every value of its type, and
// no forced search attribute cache refresh (a metadata read per request).
func TestComposeDynamicConfigIsValid(t *testing.T) {
	root, _ := filepath.Abs("../..")
	srvBin, _ := DefaultBins(root)
	file := filepath.Join(root, "deploy", "temporal", "dynamicconfig", "development-sql.yaml")
	out, err := exec.Command(srvBin, "validate-dynamic-config", file).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NotContains(t, string(out), "error:")
	require.NotContains(t, string(out), "warning:")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NotRegexp(t, `(?m)^system\.forceSearchAttributesCacheRefreshOnRead:`, string(b))
}
