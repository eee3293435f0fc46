package payer_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/payer"
)

func TestSimulatorDecidesAnAppealOfADenial(t *testing.T) {
	t.Parallel()
	cl, _, _ := simulator(t, `{"services": {"physiotherapy": {"behaviour": "deny", "reason": "conservative treatment not tried",
		"appeal": {"behaviour": "approve", "valid_days": 30}}}}`)
	ctx := context.Background()
	denied, err := cl.Submit(ctx, request("c-1:pt:p1:1", "physiotherapy"))
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationDenied, denied.Status)

	appeal := request("c-1:pt:p1:2", "physiotherapy")
	appeal.Related, appeal.Notes = denied.RequestID, "six weeks of home exercise tried"
	d, err := cl.Submit(ctx, appeal)
	require.NoError(t, err)
	require.NotEqual(t, denied.RequestID, d.RequestID, "an appeal is a new request")
	require.Equal(t, care.AuthorizationApproved, d.Status, "decided by the appeal behaviour")

	// Only a denial can be appealed.
	bad := request("c-1:pt:p1:3", "physiotherapy")
	bad.Related, bad.Notes = d.RequestID, "again"
	_, err = cl.Submit(ctx, bad)
	require.False(t, payerErr(t, err).Retryable, "appealing an approval is refused")
	require.Equal(t, http.StatusUnprocessableEntity, payerErr(t, err).StatusCode)
}

func TestADenialWithoutAReasonIsAProtocolError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write([]byte(`{"resourceType": "ClaimResponse", "id": "pa-1", "outcome": "complete", "reviewAction": "denied",
			"created": "2026-12-01T10:00:00Z"}`))
	}))
	t.Cleanup(srv.Close)
	_, err := payer.NewHTTPClient(srv.URL, srv.Client()).Submit(context.Background(), request("c-1:pt:p1:1", "physiotherapy"))
	var pe *payer.ProtocolError
	require.True(t, errors.As(err, &pe), "not a denial: %v", err)
	require.False(t, pe.Temporary(), "asking again gets the same answer")
}
