package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/postgres"
)

func TestOpenPoolSizesThePool(t *testing.T) {
	s, err := postgres.OpenPool(context.Background(), testdb.New(t), postgres.Pool{MaxOpenConns: 3, MaxIdleConns: 1, ConnMaxLifetime: time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.Equal(t, 3, s.DB().Stats().MaxOpenConnections)
	// Four connections in use at once cannot be: the fourth waits.
	ctx := context.Background()
	var conns []interface{ Close() error }
	for range 3 {
		c, err := s.DB().Conn(ctx)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = s.DB().Conn(short)
	require.ErrorIs(t, err, context.DeadlineExceeded, "a fourth connection waits for one of the three")
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
	require.LessOrEqual(t, s.DB().Stats().Idle, 1, "only one returned connection is kept")
}

func TestOpenPoolRefusesAPoolDatabaseSQLWouldChange(t *testing.T) {
	for _, p := range []postgres.Pool{
		{MaxOpenConns: 0, MaxIdleConns: 0},
		{MaxOpenConns: 2, MaxIdleConns: 3},
		{MaxOpenConns: 2, MaxIdleConns: -1},
		{MaxOpenConns: 2, ConnMaxLifetime: -time.Second},
	} {
		_, err := postgres.OpenPool(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable", p)
		require.ErrorContains(t, err, "database pool: ", "%+v", p)
	}
	require.NoError(t, postgres.DefaultPool.Validate())
}
