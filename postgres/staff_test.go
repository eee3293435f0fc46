package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
)

func TestStaffMustBeRegistered(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	n, err := s.AddStaff(ctx, "cm-ana", "sup-care-team")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = s.AddStaff(ctx, "cm-ana")
	require.NoError(t, err)
	require.Zero(t, n, "adding again changes nothing")
	_, err = s.AddStaff(ctx, "River Quinn")
	require.Equal(t, care.KindInvalid, care.KindOf(err), "a name is not a staff id")

	require.NoError(t, s.CheckStaff(ctx, "--manager", "cm-ana"))
	err = s.CheckStaff(ctx, "--manager", "cm-ana", "cm-zed")
	require.Equal(t, care.KindInvalid, care.KindOf(err))
	require.Contains(t, err.Error(), "cm-zed")
	require.NotContains(t, err.Error(), "cm-ana is")

	list, err := s.Staff(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "cm-ana", list[0].ID)

	p := care.Policy{Program: "chf", Version: 1, EffectiveFrom: "2026-01-01", Supervisor: "sup-other"}
	_, err = s.SavePolicy(ctx, p)
	require.Equal(t, care.KindInvalid, care.KindOf(err), "a policy's supervisor must be registered staff")
	_, _ = s.AddStaff(ctx, "sup-other")
	_, err = s.SavePolicy(ctx, p)
	require.NoError(t, err)
}
