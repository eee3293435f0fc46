package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/care"
)

// AppointmentByKey finds what a booking key holds, whatever its status, so
// a coordination cancelled before its booking answered can cancel it
// (change cancel-booking-in-flight); none is NotFound, not retried.
func TestAppointmentByKeyFindsWhatABookingMade(t *testing.T) {
	t.Parallel()
	a, _, cid := coordination(t, `{}`, nil)
	ctx := context.Background()
	withSlots(t, a, "physiotherapy", soon(3*time.Hour))
	key := care.BookingKey{CaseID: cid, PlanVersion: 1, ServiceID: "pt", Occurrence: 1, Attempt: 1}

	_, err := a.AppointmentByKey(ctx, key)
	ae := appErr(t, err)
	require.Equal(t, activities.ErrTypeNotFound, ae.Type())
	require.True(t, ae.NonRetryable())

	ap, err := a.BookAppointment(ctx, care.BookingRequest{Key: key, ServiceCode: "physiotherapy", From: soon(0), To: soon(24 * time.Hour)})
	require.NoError(t, err)
	got, err := a.AppointmentByKey(ctx, key)
	require.NoError(t, err)
	require.Equal(t, ap, got)

	_, err = a.CancelAppointment(ctx, ap.ID)
	require.NoError(t, err)
	got, err = a.AppointmentByKey(ctx, key)
	require.NoError(t, err)
	require.Equal(t, care.AppointmentCancelled, got.Status)
}
