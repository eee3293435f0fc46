package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/payer"
	"github.com/caseflow/caseflow/providers"
	"github.com/caseflow/caseflow/workflows"
)

// countingPayer serves the payer simulator and counts the submissions it
// received and the 409s (a request key reused for another request) it
// answered.
type countingPayer struct {
	submits, conflicts atomic.Int64
}

func (e *env) useCountingPayer(cfg string) *countingPayer {
	e.t.Helper()
	c, err := payer.ParseSimConfig([]byte(cfg))
	require.NoError(e.t, err)
	sim, err := payer.NewSimulator(c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(e.t, err)
	cp := &countingPayer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &codeRecorder{ResponseWriter: w, code: http.StatusOK}
		sim.ServeHTTP(rec, r)
		if r.Method == http.MethodPost {
			cp.submits.Add(1)
		}
		if rec.code == http.StatusConflict {
			cp.conflicts.Add(1)
		}
	}))
	e.t.Cleanup(srv.Close)
	e.kill() // nothing has run yet
	e.payerURL = srv.URL
	e.startWorker()
	return cp
}

type codeRecorder struct {
	http.ResponseWriter
	code int
}

func (r *codeRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (e *env) writePlan(services ...care.Service) string {
	e.t.Helper()
	p := care.CarePlan{Goals: []care.Goal{{ID: "walk", Description: "walk unaided"}}, Services: services}
	b, err := json.Marshal(p)
	require.NoError(e.t, err)
	path := filepath.Join(e.t.TempDir(), "plan.json")
	require.NoError(e.t, os.WriteFile(path, b, 0o600))
	return path
}

func (e *env) status(id string) workflows.Status {
	e.t.Helper()
	var st workflows.Status
	e.okJSON(&st, "case", "show", id)
	return st
}

// requireShowMatchesPostgres checks that every service case show lists has
// the same status in PostgreSQL, and that its appointment is the row booked
// under its own plan version with the status shown. The case writes each
// step right after taking it, so PostgreSQL may lag the query by a moment.
func (e *env) requireShowMatchesPostgres(id string) {
	e.t.Helper()
	var mismatch string
	deadline := time.Now().Add(10 * time.Second)
	for {
		mismatch = e.showPostgresMismatch(id)
		if mismatch == "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Empty(e.t, mismatch)
}

func (e *env) showPostgresMismatch(id string) string {
	e.t.Helper()
	for _, sv := range e.status(id).Services {
		var status string
		require.NoError(e.t, e.db.Get(&status, `SELECT status FROM case_services WHERE case_id = $1 AND service_id = $2`, id, sv.ID))
		if string(sv.Status) != status {
			return fmt.Sprintf("service %s: case show %s, PostgreSQL %s", sv.ID, sv.Status, status)
		}
		if a := sv.Appointment; a != nil {
			var row struct {
				Status      string `db:"status"`
				PlanVersion int    `db:"plan_version"`
				ServiceID   string `db:"service_id"`
			}
			require.NoError(e.t, e.db.Get(&row, `SELECT status, plan_version, service_id FROM appointments WHERE appointment_id = $1`, a.ID))
			if string(a.Status) != row.Status || sv.ID != row.ServiceID || sv.PlanVersion != row.PlanVersion {
				return fmt.Sprintf("appointment %s of %s (plan %d, %s): PostgreSQL has %s of plan %d, %s",
					a.ID, sv.ID, sv.PlanVersion, a.Status, row.ServiceID, row.PlanVersion, row.Status)
			}
		}
	}
	return ""
}

// TestReplanningKeepsChangesAndCancels re-plans a case twice against the
// payer simulator over HTTP, real slot booking in PostgreSQL and the dev
// server: the same plan again changes nothing (no new payer request, every
// appointment kept); then physiotherapy goes monthly (amended in place),
// occupational therapy is removed (its appointment and reminders cancelled)
// and neuropsychology is added (booked under plan 3). No request ever
// collides with an old one (0 payer 409s), no appointment is attached to a
// plan that does not coordinate it, and PostgreSQL matches case show.
func TestReplanningKeepsChangesAndCancels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cp := e.useCountingPayer(`{"default": {"behaviour": "approve"}}`)
	e.loadSlots(200 * time.Second)
	pt := care.Service{ID: "pt", Code: "physiotherapy", Name: "Physiotherapy", Frequency: "weekly", Occurrences: 4, RequiresAuthorization: true}
	ot := care.Service{ID: "ot", Code: "occupational-therapy", Name: "Occupational therapy", Occurrences: 2}
	fin := care.Service{ID: "fin", Code: "financial-counselling", Name: "Financial planning", Occurrences: 1}
	np := care.Service{ID: "np", Code: "neuropsychology", Name: "Neuropsychology", Occurrences: 1, RequiresAuthorization: true}

	var res struct {
		CaseID string `json:"case_id"`
	}
	e.okJSON(&res, "case", "open", "--patient-ref", "MRN-REPLAN-1", "--name", "Rowan Replan", "--program", "demo", "--model", "clinical", "--manager", "cm-ana")
	id := res.CaseID
	// The same patient reference with other demographics is refused unless
	// the change is meant, and then audited.
	r := e.cli("case", "open", "--patient-ref", "MRN-REPLAN-1", "--name", "Robin Replan", "--program", "demo", "--model", "clinical", "--manager", "cm-ana")
	require.Equal(t, 2, r.code, r.stderr)
	require.Contains(t, r.stderr, "MRN-REPLAN-1 is a known patient with another name")
	require.Equal(t, 0, e.count(`SELECT count(*) FROM patients WHERE name = 'Robin Replan'`))
	e.ok("case", "open", "--patient-ref", "MRN-REPLAN-1", "--name", "Rowan Q. Replan", "--update-patient", "--program", "demo", "--model", "clinical", "--manager", "cm-ana")
	require.Equal(t, 1, e.count(`SELECT count(*) FROM patient_updates WHERE fields = 'name' AND actor = 'cm-ana'`))
	e.ok("case", "screen", id, "--eligible")
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json")
	e.ok("case", "stratify", id, "--category", "intermediate")
	// An unknown service code is refused where it enters, with the known codes.
	r = e.cli("case", "plan", id, "--file", e.writePlan(pt, care.Service{ID: "yoga", Code: "yoga"}))
	require.Equal(t, 2, r.code, r.stderr)
	require.Contains(t, r.stderr, `unknown service code "yoga"; known codes: financial-counselling, neuropsychology, occupational-therapy, physiotherapy`)
	e.ok("case", "plan", id, "--file", e.writePlan(pt, ot, fin))
	booked := func(ids ...string) func() bool {
		return func() bool {
			st := e.status(id)
			for _, sid := range ids {
				sv := serviceOf(st, sid)
				if sv == nil || sv.Status != care.ServiceBooked {
					return false
				}
			}
			return true
		}
	}
	e.waitFor("pt, ot and fin booked", 60*time.Second, booked("pt", "ot", "fin"))
	before := e.status(id)
	submits := cp.submits.Load()
	require.EqualValues(t, 1, submits, "one authorization request, for pt")

	// The same plan again: nothing cancelled, no new payer request, no new booking.
	e.ok("case", "contact", id, "--with", "client", "--back-to", "planning")
	e.ok("case", "plan", id, "--file", e.writePlan(pt, ot, fin))
	e.waitFor("back in follow-up", 30*time.Second, func() bool { return e.status(id).Phase == care.PhaseFollowUp })
	same := e.status(id)
	for _, sid := range []string{"pt", "ot", "fin"} {
		require.Equal(t, serviceOf(before, sid).Appointment.ID, serviceOf(same, sid).Appointment.ID, "%s keeps its appointment", sid)
		require.Equal(t, care.ServiceBooked, serviceOf(same, sid).Status)
	}
	require.Equal(t, submits, cp.submits.Load(), "no new payer request")
	require.Equal(t, 0, e.count(`SELECT count(*) FROM appointments WHERE case_id = $1 AND status = 'cancelled'`, id))
	require.Contains(t, e.ok("case", "history", id), "plan v2: pt unchanged, ot unchanged, fin unchanged")

	// pt monthly, ot removed, np added.
	pt.Frequency = "monthly"
	e.ok("case", "contact", id, "--with", "client", "--back-to", "planning")
	e.ok("case", "plan", id, "--file", e.writePlan(pt, fin, np))
	e.waitFor("np booked", 60*time.Second, booked("np", "pt", "fin"))
	after := e.status(id)
	require.Equal(t, serviceOf(before, "pt").Appointment.ID, serviceOf(after, "pt").Appointment.ID, "pt amended in place keeps its appointment")
	require.Equal(t, "monthly", serviceOf(after, "pt").Frequency)
	require.Equal(t, 1, serviceOf(after, "pt").PlanVersion)
	require.Equal(t, 3, serviceOf(after, "np").PlanVersion)
	require.Nil(t, serviceOf(after, "ot"))
	otAppt := serviceOf(before, "ot").Appointment.ID
	e.waitFor("ot's appointment cancelled", 30*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM appointments WHERE appointment_id = $1 AND status = 'cancelled'`, otAppt) == 1
	})
	require.Equal(t, 0, e.count(`SELECT count(*) FROM reminders WHERE appointment_id = $1 AND status = 'pending'`, otAppt), "its pending reminders too")
	require.Equal(t, "cancelled", func() string {
		var s string
		require.NoError(t, e.db.Get(&s, `SELECT status FROM case_services WHERE case_id = $1 AND service_id = 'ot'`, id))
		return s
	}())
	require.Equal(t, 3, e.count(`SELECT count(*) FROM plan_changes WHERE case_id = $1 AND plan_version = 3 AND change IN ('amended', 'removed', 'added')`, id))
	history := e.ok("case", "history", id)
	require.Contains(t, history, "plan v3: pt amended (frequency weekly → monthly), fin unchanged, np added, ot removed")
	e.waitFor("pt's coordination takes the amendment", 30*time.Second, func() bool {
		return strings.Contains(e.ok("case", "history", id), "pt: amended (frequency weekly → monthly); its authorization no longer covers it: re-authorizing")
	})
	show := e.ok("case", "show", id)
	require.Contains(t, show, "Rowan Q. Replan (MRN-REPLAN-1)", "who the case is about, from PostgreSQL")
	require.Contains(t, show, "plan v3: pt amended")
	e.requireShowMatchesPostgres(id)

	// A level change without a new plan: one service's cadence.
	e.ok("case", "service", "amend", id, "fin", "--frequency", "monthly", "--occurrences", "2")
	require.Equal(t, "monthly", serviceOf(e.status(id), "fin").Frequency)

	require.Zero(t, cp.conflicts.Load(), "no payer request collided with an old one")
	require.Equal(t, 0, e.count(`SELECT count(*) FROM (SELECT slot_id FROM appointments WHERE status <> 'cancelled'
		GROUP BY slot_id HAVING count(*) > 1) d`), "no slot booked twice")

	// Closing shows every service and appointment cancelled, in Temporal and PostgreSQL alike.
	e.ok("case", "close", id, "--reason", "transferred")
	e.waitFor("every appointment cancelled", 30*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM appointments WHERE case_id = $1 AND status = 'booked'`, id) == 0
	})
	for _, sv := range e.status(id).Services {
		require.Equal(t, care.ServiceCancelled, sv.Status, sv.ID)
		if sv.Appointment != nil {
			require.Equal(t, care.AppointmentCancelled, sv.Appointment.Status, sv.ID)
		}
	}
	e.requireShowMatchesPostgres(id)

	recordHistory(t, "replan-attrs", rawHistory(t, care.WorkflowID(id)))
	recordHistory(t, "replan-service-pt-amended", rawHistory(t, workflows.ServiceWorkflowID(id, "pt", 1)))
	recordHistory(t, "replan-service-ot-removed", rawHistory(t, workflows.ServiceWorkflowID(id, "ot", 1)))
	recordHistory(t, "replan-service-np-added", rawHistory(t, workflows.ServiceWorkflowID(id, "np", 3)))
}

func serviceOf(st workflows.Status, id string) *care.ServiceState {
	for i := range st.Services {
		if st.Services[i].ID == id {
			return &st.Services[i]
		}
	}
	return nil
}

// TestAppealAndManualBooking appeals a denial through the CLI (a new request
// to the payer simulator over HTTP that references the denied one, approved
// on appeal) and books by hand a service that found no free slot in its
// window; both staff items close when their cause clears.
func TestAppealAndManualBooking(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cp := e.useCountingPayer(`{"default": {"behaviour": "approve"}, "services": {"occupational-therapy":
		{"behaviour": "deny", "reason": "a home-safety assessment must come first", "appeal": {"behaviour": "approve"}}}}`)
	soon := time.Now().Add(200 * time.Second).UTC().Truncate(time.Second)
	late := time.Now().Add(45 * time.Minute).UTC().Truncate(time.Second) // outside the demo's 30m booking window
	file := map[string]any{"providers": []map[string]any{
		{"id": "prv-ot", "name": "OT", "services": []string{"occupational-therapy"},
			"slots": []map[string]any{{"starts_at": soon, "duration": "30m"}}},
		{"id": "prv-fin", "name": "Finance", "services": []string{"financial-counselling"},
			"slots": []map[string]any{{"starts_at": late, "duration": "30m"}}},
	}}
	b, err := json.Marshal(file)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "providers.json")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	e.ok("providers", "load", path)

	var res struct {
		CaseID string `json:"case_id"`
	}
	e.okJSON(&res, "case", "open", "--patient-ref", "MRN-APPEAL-1", "--program", "demo", "--model", "clinical", "--manager", "cm-ana")
	id := res.CaseID
	e.ok("case", "screen", id, "--eligible")
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json")
	e.ok("case", "stratify", id, "--category", "intermediate")
	e.ok("case", "plan", id, "--file", e.writePlan(
		care.Service{ID: "ot", Code: "occupational-therapy", Name: "Occupational therapy", Occurrences: 1, RequiresAuthorization: true},
		care.Service{ID: "fin", Code: "financial-counselling", Name: "Financial planning", Occurrences: 1}))

	e.waitFor("ot denied and fin without a slot", 60*time.Second, func() bool {
		st := e.status(id)
		ot, fin := serviceOf(st, "ot"), serviceOf(st, "fin")
		return ot != nil && ot.Status == care.ServiceAuthorizationDenied && fin != nil && fin.Status == care.ServiceNoSlot
	})
	openItem := func(like string) int {
		return e.count(`SELECT count(*) FROM tasks WHERE case_id = $1 AND kind = 'coordination' AND status = 'open' AND description LIKE $2`, id, like)
	}
	// The status query can see a step before its RecordStep has committed
	// the step's tasks: wait for the rows.
	e.waitFor("the open items in PostgreSQL", 10*time.Second, func() bool {
		return openItem("%authorization denied (a home-safety assessment must come first)%") == 1 &&
			openItem("%caseflow case book "+id+" fin --slot <id>%") == 1 // the open item says how to book by hand
	})
	denied := serviceOf(e.status(id), "ot").Authorization.RequestID

	r := e.cli("case", "appeal", id, "fin", "--notes", "x")
	require.Equal(t, 4, r.code, "only a denial can be appealed: %s", r.stderr)
	e.ok("case", "appeal", id, "ot", "--notes", "home-safety assessment done")
	e.ok("case", "book", id, "fin", "--slot", providers.SlotID("prv-fin", "financial-counselling", late))
	e.waitFor("ot approved on appeal and booked, fin booked by hand", 60*time.Second, func() bool {
		st := e.status(id)
		return serviceOf(st, "ot").Status == care.ServiceBooked && serviceOf(st, "fin").Status == care.ServiceBooked
	})
	ot := serviceOf(e.status(id), "ot")
	require.Equal(t, care.AuthorizationApproved, ot.Authorization.Status)
	require.Equal(t, denied, ot.Authorization.Related, "the appeal references the denied request")
	require.False(t, ot.Authorization.DecidedAt.IsZero(), "the payer's decision time is stored")
	require.EqualValues(t, 2, cp.submits.Load(), "the request and its appeal")
	require.Zero(t, cp.conflicts.Load())
	e.waitFor("both items closed when their cause cleared", 10*time.Second, func() bool { return openItem("%") == 0 })
	require.Contains(t, e.ok("case", "show", id), "(appeal of "+denied+")")
	e.requireShowMatchesPostgres(id)
	e.ok("case", "close", id, "--reason", "transferred")
	e.waitFor("appointments cancelled", 30*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM appointments WHERE case_id = $1 AND status = 'booked'`, id) == 0
	})
	recordHistory(t, "appeal-service-ot", rawHistory(t, workflows.ServiceWorkflowID(id, "ot", 1)))
	recordHistory(t, "manual-booking-service-fin", rawHistory(t, workflows.ServiceWorkflowID(id, "fin", 1)))
}
