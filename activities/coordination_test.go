package activities_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/caseflow/caseflow/activities"
	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/internal/testdb"
	"github.com/caseflow/caseflow/notify"
	"github.com/caseflow/caseflow/payer"
	"github.com/caseflow/caseflow/postgres"
	"github.com/caseflow/caseflow/providers"
)

// gateway is a notification gateway over real HTTP that counts deliveries
// per idempotency key and answers with the statuses queued in fail first.
type gateway struct {
	URL   string
	mu    sync.Mutex
	hits  map[string]int
	fail  []int
	total atomic.Int64
}

func newGateway(t *testing.T, fail ...int) *gateway {
	g := &gateway{hits: map[string]int{}, fail: fail}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.total.Add(1)
		var m care.Notification
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.ReminderID != r.Header.Get("Idempotency-Key") {
			http.Error(w, "bad message", http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if len(g.fail) > 0 {
			status := g.fail[0]
			g.fail = g.fail[1:]
			http.Error(w, "gateway says no", status)
			return
		}
		g.hits[m.ReminderID]++
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

func (g *gateway) delivered(id string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.hits[id]
}

// coordination returns activities on a database of their own, talking to a
// payer simulator configured with simConfig and to gw, and the id of an open
// case.
func coordination(t *testing.T, simConfig string, gw *gateway) (*activities.Activities, *payer.Simulator, string) {
	t.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, testdb.New(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	cfg, err := payer.ParseSimConfig([]byte(simConfig))
	require.NoError(t, err)
	sim, err := payer.NewSimulator(cfg, nil)
	require.NoError(t, err)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	a := &activities.Activities{Store: s, Payer: payer.NewHTTPClient(srv.URL, nil)}
	if gw != nil {
		a.Notifier = notify.NewWebhookChannel(gw.URL, nil)
	}
	pid, err := s.UpsertPatient(ctx, "mrn-coordination", "", nil)
	require.NoError(t, err)
	cid := care.CaseID(pid, "coordination")
	_, err = s.DB().ExecContext(ctx, `
		INSERT INTO cases (case_id, patient_id, program, model, manager, source, phase, opened_at)
		VALUES ($1, $2, 'coordination', 'clinical', 'cm-ana', 'referral', 'implementation', now())`, cid, pid)
	require.NoError(t, err)
	return a, sim, cid
}

// soon is an instant in the near future, on a whole minute.
func soon(d time.Duration) time.Time { return time.Now().UTC().Truncate(time.Minute).Add(d) }

// withSlots loads a provider of code with slots at the given starts.
func withSlots(t *testing.T, a *activities.Activities, code string, starts ...time.Time) {
	t.Helper()
	spec := providers.Provider{ID: "prv-" + code, Name: "Clinic", Services: []string{code}}
	for _, st := range starts {
		spec.Slots = append(spec.Slots, providers.SlotSpec{StartsAt: &st, Duration: care.Duration(45 * time.Minute)})
	}
	ps, slots, err := providers.File{Providers: []providers.Provider{spec}}.Expand(time.Now())
	require.NoError(t, err)
	_, err = pg(a).LoadProviders(context.Background(), ps, slots)
	require.NoError(t, err)
}

// appErr asserts err is a Temporal application error and returns it.
func appErr(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	require.ErrorAs(t, err, &ae)
	return ae
}

func authRequest(cid, service, code string) care.AuthorizationRequest {
	start := soon(24 * time.Hour)
	return care.AuthorizationRequest{RequestKey: care.AuthorizationRequestKey(cid, service, 1), CaseID: cid, PatientID: "p-0a1b2c3d4e5f6a7b",
		ServiceCode: code, Urgency: care.UrgencyExpedited, PeriodStart: start, PeriodEnd: start.AddDate(0, 2, 0)}
}

func TestAuthorizationActivities(t *testing.T) {
	t.Parallel()
	a, sim, cid := coordination(t, `{"services": {
		"physiotherapy": {"behaviour": "approve"},
		"occupational-therapy": {"behaviour": "deny", "reason": "not medically necessary"},
		"neuropsychology": {"behaviour": "pend", "after": "30s"}}}`, nil)
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	sim.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })

	d, err := a.SubmitAuthorization(ctx, authRequest(cid, "pt", "physiotherapy"))
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationApproved, d.Status)
	require.NotEmpty(t, d.AuthorizationNumber)
	again, err := a.SubmitAuthorization(ctx, authRequest(cid, "pt", "physiotherapy"))
	require.NoError(t, err)
	require.Equal(t, d, again, "idempotent on the request key")

	d, err = a.SubmitAuthorization(ctx, authRequest(cid, "ot", "occupational-therapy"))
	require.NoError(t, err, "a denial is a decision, not a failure")
	require.Equal(t, care.AuthorizationDenied, d.Status)
	require.Equal(t, "not medically necessary", d.DenialReason)

	d, err = a.SubmitAuthorization(ctx, authRequest(cid, "np", "neuropsychology"))
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationPended, d.Status)
	got, err := a.InquireAuthorization(ctx, d.RequestID)
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationPended, got.Status)
	mu.Lock()
	now = now.Add(31 * time.Second)
	mu.Unlock()
	got, err = a.InquireAuthorization(ctx, d.RequestID)
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationApproved, got.Status)

	// The payer refuses: 4xx is not retryable; the payer's message travels
	// only in the failure details (encrypted), never in the logged message.
	_, err = a.InquireAuthorization(ctx, "pa-unknown")
	ae := appErr(t, err)
	require.True(t, ae.NonRetryable())
	require.Equal(t, activities.ErrTypePayerRejected, ae.Type())
	require.NotContains(t, ae.Error(), "no prior-authorization request")
	var diagnostics string
	require.NoError(t, ae.Details(&diagnostics))
	require.Contains(t, diagnostics, "no prior-authorization request")
	bad := authRequest(cid, "pt", "physiotherapy")
	bad.PatientID = "River Quinn"
	_, err = a.SubmitAuthorization(ctx, bad)
	require.True(t, appErr(t, err).NonRetryable())
}

func TestAuthorizationOutagesAreRetryable(t *testing.T) {
	t.Parallel()
	a, _, cid := coordination(t, `{"services": {"physiotherapy": {"behaviour": "fail", "failures": 2}}}`, nil)
	ctx := context.Background()
	for range 2 {
		_, err := a.SubmitAuthorization(ctx, authRequest(cid, "pt", "physiotherapy"))
		ae := appErr(t, err)
		require.False(t, ae.NonRetryable(), "an outage is retried, never turned into a denial")
		require.Equal(t, activities.ErrTypePayerUnavailable, ae.Type())
	}
	d, err := a.SubmitAuthorization(ctx, authRequest(cid, "pt", "physiotherapy"))
	require.NoError(t, err)
	require.Equal(t, care.AuthorizationApproved, d.Status)

	// The payer is not there at all.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	down := &activities.Activities{Store: a.Store, Payer: payer.NewHTTPClient("http://"+addr, nil)}
	_, err = down.InquireAuthorization(ctx, d.RequestID)
	ae := appErr(t, err)
	require.False(t, ae.NonRetryable())
	require.Equal(t, activities.ErrTypePayerUnavailable, ae.Type())
}

func TestBookAppointment(t *testing.T) {
	t.Parallel()
	a, _, cid := coordination(t, `{}`, nil)
	ctx := context.Background()
	withSlots(t, a, "physiotherapy", soon(-2*time.Hour), soon(3*time.Hour), soon(27*time.Hour))

	req := care.BookingRequest{Key: care.BookingKey{CaseID: cid, ServiceID: "pt", Occurrence: 1, Attempt: 1},
		ServiceCode: "physiotherapy", From: soon(-24 * time.Hour), To: soon(7 * 24 * time.Hour)}
	ap, err := a.BookAppointment(ctx, req)
	require.NoError(t, err)
	require.Equal(t, soon(3*time.Hour), ap.StartsAt, "a window starting in the past counts from now")

	// A retry returns the same appointment, even once its window has passed.
	late := req
	late.From, late.To = soon(-48*time.Hour), soon(-24*time.Hour)
	again, err := a.BookAppointment(ctx, late)
	require.NoError(t, err)
	require.Equal(t, ap, again)

	// The next occurrence gets the next slot; the one after finds none.
	req.Key.Occurrence = 2
	ap2, err := a.BookAppointment(ctx, req)
	require.NoError(t, err)
	require.Equal(t, soon(27*time.Hour), ap2.StartsAt)
	req.Key.Occurrence = 3
	_, err = a.BookAppointment(ctx, req)
	ae := appErr(t, err)
	require.Equal(t, activities.ErrTypeNoSlot, ae.Type())
	require.True(t, ae.NonRetryable(), "no slot is for staff to solve")

	// A window that has passed entirely finds no slot either.
	late.Key.Occurrence = 3
	_, err = a.BookAppointment(ctx, late)
	require.Equal(t, activities.ErrTypeNoSlot, appErr(t, err).Type())

	// The same key for another service, and a bad key, are not retried.
	other := req
	other.Key.Occurrence, other.ServiceCode = 1, "neuropsychology"
	_, err = a.BookAppointment(ctx, other)
	require.Equal(t, activities.ErrTypeStatusConflict, appErr(t, err).Type())
	other.Key.Attempt = 0
	_, err = a.BookAppointment(ctx, other)
	require.Equal(t, activities.ErrTypeInvalid, appErr(t, err).Type())

	// Attendance and cancellation.
	got, err := a.RecordAttendance(ctx, ap.ID, care.AppointmentNoShow)
	require.NoError(t, err)
	require.Equal(t, care.AppointmentNoShow, got.Status)
	_, err = a.RecordAttendance(ctx, ap.ID, care.AppointmentCancelled)
	require.Equal(t, activities.ErrTypeInvalid, appErr(t, err).Type(), "cancelling is CancelAppointment")
	_, err = a.CancelAppointment(ctx, ap.ID)
	require.Equal(t, activities.ErrTypeStatusConflict, appErr(t, err).Type(), "a missed appointment cannot be cancelled")
	c, err := a.CancelAppointment(ctx, ap2.ID)
	require.NoError(t, err)
	require.Equal(t, care.AppointmentCancelled, c.Status)
	_, err = a.CancelAppointment(ctx, "ap-missing")
	require.Equal(t, activities.ErrTypeNotFound, appErr(t, err).Type())
}

// reminders books an appointment at startsAt and schedules reminders at
// offsets.
func reminders(t *testing.T, a *activities.Activities, cid, service string, startsAt time.Time, offsets ...time.Duration) (care.Appointment, map[int]care.Reminder) {
	t.Helper()
	ctx := context.Background()
	withSlots(t, a, service, startsAt)
	ap, err := a.BookAppointment(ctx, care.BookingRequest{Key: care.BookingKey{CaseID: cid, ServiceID: service, Occurrence: 1, Attempt: 1},
		ServiceCode: service, From: startsAt, To: startsAt.Add(time.Minute)})
	require.NoError(t, err)
	rs, err := a.ScheduleReminders(ctx, care.ReminderRequest{AppointmentID: ap.ID, Offsets: offsets})
	require.NoError(t, err)
	byOffset := map[int]care.Reminder{}
	for _, r := range rs {
		byOffset[r.OffsetMinutes] = r
	}
	return ap, byOffset
}

func TestSendReminderTwiceSendsOnce(t *testing.T) {
	t.Parallel()
	gw := newGateway(t)
	a, _, cid := coordination(t, `{}`, gw)
	ctx := context.Background()
	_, rs := reminders(t, a, cid, "physiotherapy", soon(3*time.Hour), 48*time.Hour, 2*time.Hour)
	require.Equal(t, care.ReminderSkipped, rs[48*60].Status, "its time has passed")
	require.Equal(t, care.ReminderPending, rs[120].Status)
	require.Equal(t, "webhook", rs[120].Channel)

	// Scheduling again (a retried activity) adds nothing.
	again, err := a.ScheduleReminders(ctx, care.ReminderRequest{AppointmentID: rs[120].AppointmentID, Offsets: []time.Duration{48 * time.Hour, 2 * time.Hour}})
	require.NoError(t, err)
	require.Len(t, again, 2)

	id := rs[120].ID
	out, err := a.SendReminder(ctx, id)
	require.NoError(t, err)
	require.Equal(t, care.ReminderOutcome{ReminderID: id, Status: care.ReminderSent}, out)
	out, err = a.SendReminder(ctx, id)
	require.NoError(t, err, "a retried send does nothing")
	require.True(t, out.Sent(), "a retry after the row was marked still says sent: it was")
	out, err = a.SendReminder(ctx, rs[48*60].ID)
	require.NoError(t, err, "a skipped reminder is never sent")
	require.Equal(t, care.ReminderOutcome{ReminderID: rs[48*60].ID, Status: care.ReminderSkipped, Reason: care.ReasonTooLate}, out)
	require.Equal(t, 1, gw.delivered(id))
	require.EqualValues(t, 1, gw.total.Load())
	r, err := pg(a).Reminder(ctx, id)
	require.NoError(t, err)
	require.Equal(t, care.ReminderSent, r.Status)
	require.Equal(t, 1, r.Attempts)
}

func TestSendReminderConcurrentRetriesSendOnce(t *testing.T) {
	t.Parallel()
	gw := newGateway(t)
	a, _, cid := coordination(t, `{}`, gw)
	ctx := context.Background()
	_, rs := reminders(t, a, cid, "physiotherapy", soon(3*time.Hour), time.Hour)
	id := rs[60].ID
	errs := make([]error, 6)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range errs {
		wg.Go(func() { <-start; errs[i] = send(a, ctx, id) })
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			// A sender that found another one mid-delivery is told to retry.
			require.ErrorIs(t, err, postgres.ErrReminderBusy)
		}
	}
	require.NoError(t, send(a, ctx, id))
	require.Equal(t, 1, gw.delivered(id))
}

func TestSendReminderAfterAWorkerDiedMidSend(t *testing.T) {
	t.Parallel()
	gw := newGateway(t)
	a, _, cid := coordination(t, `{}`, gw)
	ctx := context.Background()
	_, rs := reminders(t, a, cid, "physiotherapy", soon(3*time.Hour), time.Hour)
	id := rs[60].ID

	// A worker claimed the reminder and died. While its lease runs, a retry
	// is told to wait (retryable)...
	_, ok, err := pg(a).ClaimReminder(ctx, id, time.Now(), time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	err = send(a, ctx, id)
	require.ErrorIs(t, err, postgres.ErrReminderBusy)
	require.Zero(t, gw.total.Load())

	// ...and once the lease has expired, the retry delivers it, with the
	// same idempotency key the dead worker would have used.
	_, err = pg(a).DB().ExecContext(ctx, `UPDATE reminders SET claimed_until = now() - interval '1 second' WHERE reminder_id = $1`, id)
	require.NoError(t, err)
	require.NoError(t, send(a, ctx, id))
	require.Equal(t, 1, gw.delivered(id))
	r, err := pg(a).Reminder(ctx, id)
	require.NoError(t, err)
	require.Equal(t, 2, r.Attempts)
	require.Equal(t, care.ReminderSent, r.Status)
}

func TestSendReminderGatewayOutageIsRetryable(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, http.StatusServiceUnavailable, http.StatusBadGateway)
	a, _, cid := coordination(t, `{}`, gw)
	ctx := context.Background()
	_, rs := reminders(t, a, cid, "physiotherapy", soon(3*time.Hour), time.Hour)
	id := rs[60].ID
	for range 2 {
		err := send(a, ctx, id)
		ae := appErr(t, err)
		require.False(t, ae.NonRetryable())
		require.Equal(t, activities.ErrTypeNotifyUnavailable, ae.Type())
		r, err := pg(a).Reminder(ctx, id)
		require.NoError(t, err)
		require.Equal(t, care.ReminderPending, r.Status)
		require.Contains(t, r.LastError, "HTTP 5")
	}
	require.NoError(t, send(a, ctx, id), "the retry goes at once: the failed attempt released its claim")
	require.NoError(t, send(a, ctx, id))
	require.Equal(t, 1, gw.delivered(id))
	r, err := pg(a).Reminder(ctx, id)
	require.NoError(t, err)
	require.Equal(t, 3, r.Attempts)
	require.Empty(t, r.LastError)
}

func TestSendReminderGatewayRefusalIsNotRetried(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, http.StatusUnprocessableEntity)
	a, _, cid := coordination(t, `{}`, gw)
	_, rs := reminders(t, a, cid, "physiotherapy", soon(3*time.Hour), time.Hour)
	ae := appErr(t, send(a, context.Background(), rs[60].ID))
	require.True(t, ae.NonRetryable())
	require.Equal(t, activities.ErrTypeNotifyRejected, ae.Type())
	require.Contains(t, ae.Error(), "422")
	require.NotContains(t, ae.Error(), "gateway says no", "the gateway's reply never reaches the message (logs are not encrypted)")
}

func TestCancellingStopsPendingReminders(t *testing.T) {
	t.Parallel()
	gw := newGateway(t)
	a, _, cid := coordination(t, `{}`, gw)
	ctx := context.Background()

	// Cancelling the appointment cancels its reminders.
	ap, rs := reminders(t, a, cid, "physiotherapy", soon(5*time.Hour), 4*time.Hour, time.Hour)
	_, err := a.CancelAppointment(ctx, ap.ID)
	require.NoError(t, err)
	for _, r := range rs {
		out, err := a.SendReminder(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, care.ReminderOutcome{ReminderID: r.ID, Status: care.ReminderCancelled, Reason: "appointment-cancelled"}, out)
		got, err := pg(a).Reminder(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, care.ReminderCancelled, got.Status)
		require.Equal(t, "appointment-cancelled", got.Reason)
	}

	// So does recording the attendance (here a no-show, before a rebooking).
	ap2, rs2 := reminders(t, a, cid, "neuropsychology", soon(6*time.Hour), 4*time.Hour, time.Hour)
	_, err = a.RecordAttendance(ctx, ap2.ID, care.AppointmentNoShow)
	require.NoError(t, err)
	for _, r := range rs2 {
		require.NoError(t, send(a, ctx, r.ID))
		got, err := pg(a).Reminder(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, care.ReminderCancelled, got.Status)
	}
	require.Zero(t, gw.total.Load(), "no cancelled reminder went out")
}

func TestRemindersGoToTheLogChannel(t *testing.T) {
	t.Parallel()
	a, _, cid := coordination(t, `{}`, nil)
	a.Notifier = notify.NewLogChannel(nil)
	_, rs := reminders(t, a, cid, "physiotherapy", soon(3*time.Hour), time.Hour)
	require.Equal(t, "log", rs[60].Channel)
	require.NoError(t, send(a, context.Background(), rs[60].ID))
	r, err := pg(a).Reminder(context.Background(), rs[60].ID)
	require.NoError(t, err)
	require.Equal(t, care.ReminderSent, r.Status)
	require.Equal(t, "log", r.Channel)
}

func TestAMissingDependencyIsAConfigurationError(t *testing.T) {
	t.Parallel()
	a := &activities.Activities{}
	ctx := context.Background()
	_, err := a.SubmitAuthorization(ctx, authRequest("c-5c1d0e8f2a7b9c3d", "pt", "physiotherapy"))
	ae := appErr(t, err)
	require.Equal(t, activities.ErrTypeMisconfigured, ae.Type())
	require.True(t, ae.NonRetryable())
	_, err = a.InquireAuthorization(ctx, "r-1")
	require.Equal(t, activities.ErrTypeMisconfigured, appErr(t, err).Type())
	_, err = a.ScheduleReminders(ctx, care.ReminderRequest{AppointmentID: "ap-1", Offsets: []time.Duration{time.Hour}})
	require.Equal(t, activities.ErrTypeMisconfigured, appErr(t, err).Type())
	require.Equal(t, activities.ErrTypeMisconfigured, appErr(t, send(a, ctx, "ap-1.60m")).Type())
}

// send runs SendReminder and keeps only its error.
func send(a *activities.Activities, ctx context.Context, id string) error {
	_, err := a.SendReminder(ctx, id)
	return err
}

func TestSendReminderOfAPausedCaseIsSkipped(t *testing.T) {
	t.Parallel()
	gw := newGateway(t)
	a, _, cid := coordination(t, `{}`, gw)
	ctx := context.Background()
	_, rs := reminders(t, a, cid, "physiotherapy", soon(3*time.Hour), time.Hour)
	_, err := pg(a).DB().ExecContext(ctx, `INSERT INTO case_pauses (case_id, paused_at, reason) VALUES ($1, now(), 're-admitted')`, cid)
	require.NoError(t, err)
	out, err := a.SendReminder(ctx, rs[60].ID)
	require.NoError(t, err)
	require.Equal(t, care.ReminderOutcome{ReminderID: rs[60].ID, Status: care.ReminderSkipped, Reason: care.ReasonPaused}, out)
	require.Zero(t, gw.total.Load(), "nothing went out")
	r, err := pg(a).Reminder(ctx, rs[60].ID)
	require.NoError(t, err)
	require.Equal(t, care.ReminderSkipped, r.Status)
	require.Equal(t, care.ReasonPaused, r.Reason)
}

// A send the gateway took and never answered (a timeout) may have been
// delivered: a cancellation of its appointment then records the reminder
// unknown, not cancelled ("not sent"). A gateway that refused the
// connection did not get it: cancelled.
func TestSendReminderTimedOutMayHaveBeenDelivered(t *testing.T) {
	t.Parallel()
	a, _, cid := coordination(t, `{}`, nil)
	ctx := context.Background()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	t.Cleanup(hang.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // nothing listens there
	for _, tc := range []struct {
		url    string
		want   care.ReminderStatus
		ref    string
		starts time.Duration
	}{{hang.URL, care.ReminderUnknown, "physiotherapy", 3 * time.Hour}, {down.URL, care.ReminderCancelled, "neuropsychology", 4 * time.Hour}} {
		a.Notifier = notify.NewWebhookChannel(tc.url, &http.Client{Timeout: 200 * time.Millisecond})
		ap, rs := reminders(t, a, cid, tc.ref, soon(tc.starts), time.Hour)
		id := rs[60].ID
		require.Error(t, send(a, ctx, id))
		_, err := a.CancelAppointment(ctx, ap.ID)
		require.NoError(t, err)
		r, err := pg(a).Reminder(ctx, id)
		require.NoError(t, err)
		require.Equal(t, tc.want, r.Status, "%s", tc.url)
	}
}
