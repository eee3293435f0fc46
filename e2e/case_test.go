package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/cli"
	"github.com/caseflow/caseflow/workflows"
)

// openRiver opens the demo patient's case and returns its id.
func (e *env) openRiver(extra ...string) string {
	e.t.Helper()
	var res cli.OpenResult
	args := append([]string{"case", "open", "--patient-ref", "MRN-RIVER-0042", "--name", "Zebulon Quixote-Marsh",
		"--birth-date", "1991-04-02", "--program", "complex-case", "--model", "clinical", "--manager", "cm-ana",
		"--source", "referral"}, extra...)
	e.okJSON(&res, args...)
	require.Equal(e.t, "opened", res.Status)
	return res.CaseID
}

func TestCaseRunsFromOpenToClosedThroughTheCLI(t *testing.T) {
	e := newEnv(t)
	id := e.openRiver()
	require.True(t, strings.HasPrefix(id, "c-"), id)

	var st workflows.Status
	e.okJSON(&st, "case", "screen", id, "--eligible", "--notes", "referred by the trauma ward")
	require.Equal(t, care.PhaseAssessment, st.Phase)
	e.okJSON(&st, "case", "assess", id, "--file", "demo/river/assessment.json", "--engagement", "5")
	require.Equal(t, care.PhaseStratification, st.Phase)
	require.Equal(t, 5, st.Assessment.Engagement, "flags override the file")
	require.Equal(t, care.RiskModerate, st.Proposal.Level)
	e.okJSON(&st, "case", "stratify", id, "--risk", "high", "--override-reason", "head injury", "--category", "acute")
	require.Equal(t, care.RiskHigh, st.Risk)
	e.okJSON(&st, "case", "plan", id, "--file", "demo/river/plan.json")
	require.Equal(t, care.PhaseFollowUp, st.Phase, "case plan answers once coordination has moved the case on")

	// Coordination runs by itself and moves the case to follow-up.
	require.Eventually(t, func() bool {
		e.okJSON(&st, "case", "show", id)
		return st.Phase == care.PhaseFollowUp
	}, 20*time.Second, 200*time.Millisecond)
	require.Len(t, st.Services, 4)

	e.closeRiverFromFollowUp(id)

	// The table views tell the story.
	show := e.ok("case", "show", id)
	for _, want := range []string{`Phase\s+closed`, `Risk\s+high`, `pt physiotherapy\s+\S+`,
		`physical_function\s+1\s+5\n`, `closed: goals-met`} {
		require.Regexp(t, want, show)
	}
	history := e.ok("case", "history", id)
	require.Contains(t, history, "screening → assessment")
	require.Contains(t, history, "evaluation → closed")

	// PostgreSQL matches.
	seq := e.requireClosedRiverRows(id)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM patients WHERE name = 'Zebulon Quixote-Marsh'`))
	var events []care.Event
	e.okJSON(&events, "case", "history", id)
	require.Len(t, events, seq)
	require.Equal(t, "cm-ana", events[1].Actor)

	// Temporal visibility has the search attributes.
	var list []cli.CaseListing
	e.okJSON(&list, "case", "list", "--all", "--manager", "cm-ana", "--program", "complex-case", "--limit", "0") // every test shares one dev server
	require.NotEmpty(t, list)
	found := false
	for _, l := range list {
		if l.CaseID == id {
			found = true
			require.Equal(t, "closed", l.Phase)
			require.Equal(t, "high", l.Risk)
			require.Equal(t, "completed", l.Status)
		}
	}
	require.True(t, found, "case %s not in %v", id, list)

	// What Temporal stores holds no patient data in the clear.
	raw := rawHistory(t, care.WorkflowID(id))
	for _, phi := range []string{"Zebulon", "Quixote", "1991-04-02", "MRN-RIVER", "bicycle", "Bicycle", "head injury", "physio going well"} {
		require.NotContains(t, raw, phi)
	}
	recordHistory(t, "river-lifecycle-attrs", raw)
}

func TestOpeningTheSameCaseTwiceReportsTheExistingCase(t *testing.T) {
	e := newEnv(t)
	id := e.openRiver()
	var again cli.OpenResult
	e.okJSON(&again, "case", "open", "--patient-ref", "MRN-RIVER-0042", "--program", "complex-case", "--model", "clinical", "--manager", "cm-ana")
	require.Equal(t, cli.OpenResult{CaseID: id, WorkflowID: "case-" + id, Status: "already-exists", Phase: care.PhaseScreening}, again)
	require.Contains(t, e.ok("case", "open", "--patient-ref", "MRN-RIVER-0042", "--program", "complex-case", "--model", "clinical", "--manager", "cm-ana"), "already exists")
	require.Equal(t, 1, e.count(`SELECT count(*) FROM cases`))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM patients`))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM case_events WHERE case_id = $1`, id))

	// Another program is another case for the same patient.
	var other cli.OpenResult
	e.okJSON(&other, "case", "open", "--patient-ref", "MRN-RIVER-0042", "--program", "transitional-care", "--model", "brokerage", "--manager", "cm-ana")
	require.Equal(t, "opened", other.Status)
	require.NotEqual(t, id, other.CaseID)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM patients`))
}

func TestBadInputGetsOneLineErrorsAndWritesNothing(t *testing.T) {
	e := newEnv(t)
	id := e.openRiver()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	open := []string{"case", "open", "--patient-ref", "MRN-NEW-1", "--program", "complex-case", "--model", "clinical", "--manager", "cm-ana"}
	cases := []struct {
		name string
		env  []string
		args []string
		want string
		code int // the exit status of its kind
	}{
		{"unknown case", nil, []string{"case", "show", "c-doesnotexist"}, `case c-doesnotexist not found; check the id with "caseflow case list"`, 3},
		{"unknown case action", nil, []string{"case", "screen", "c-doesnotexist", "--eligible"}, "case c-doesnotexist not found", 3},
		{"wrong phase", nil, []string{"case", "assess", id, "--file", "demo/river/assessment.json"}, "assess is not allowed while the case is in screening: screen the client first", 4},
		{"malformed json", nil, []string{"case", "assess", id, "--file", write("bad.json", "{\n  \"age\": 34,\n  \"housing\": \n")}, "malformed JSON", 2},
		{"unknown json field", nil, []string{"case", "plan", id, "--file", write("plan.json", "{\n\"goals\": [],\n\"servces\": []}")}, `line 3: unknown field "servces"`, 2},
		{"json wrong type", nil, []string{"case", "assess", id, "--file", write("type.json", `{"age": "old"}`)}, `field "age" must be a int`, 2},
		{"missing file", nil, []string{"case", "plan", id, "--file", filepath.Join(dir, "nope.json")}, "nope.json does not exist", 2},
		{"missing plan file flag", nil, []string{"case", "plan", id}, "--file: is required", 2},
		{"missing required flag", nil, []string{"case", "open", "--patient-ref", "MRN-NEW-1", "--model", "clinical", "--manager", "cm-ana"}, "--program", 2},
		{"missing patient", nil, []string{"case", "open", "--program", "complex-case", "--model", "clinical", "--manager", "cm-ana"}, "--patient-ref: is required", 2},
		{"unknown model", nil, []string{"case", "open", "--patient-ref", "MRN-NEW-1", "--program", "complex-case", "--model", "hands-off", "--manager", "cm-ana"}, `--model: unknown value "hands-off"; use one of brokerage, clinical, strengths-based, intensive`, 2},
		{"PHI as manager id", nil, []string{"case", "open", "--patient-ref", "MRN-NEW-1", "--program", "complex-case", "--model", "clinical", "--manager", "Ana Lopez"}, `--manager: "Ana Lopez" is not an opaque id`, 2},
		{"bad birth date", nil, append(open, "--birth-date", "02/04/1991"), "--birth-date: must be a date YYYY-MM-DD", 2},
		{"case id made of the patient", nil, append(open, "--name", "Zebulon Quixote", "--case-id", "zebulon-2"), "--case-id: must not contain the patient's name, reference or birth date", 2},
		{"unknown closure reason", nil, []string{"case", "close", id, "--reason", "bored"}, `--reason: unknown value "bored"`, 2},
		{"unknown risk filter", nil, []string{"case", "list", "--risk", "extreme"}, `--risk: unknown value "extreme"`, 2},
		{"bad output", nil, []string{"case", "list", "--output", "yaml"}, `--output: unknown value "yaml"`, 2},
		{"bad scores", nil, []string{"case", "evaluate", id, "--scores", "happiness=5"}, `--scores: unknown outcome domain "happiness"`, 2},
		{"no case id", nil, []string{"case", "show"}, "expected one case id", 2},
		{"unreachable temporal", []string{"TEMPORAL_ADDRESS=127.0.0.1:1"}, open, `cannot reach Temporal at 127.0.0.1:1`, 5},
		{"unreachable database", []string{"DATABASE_URL=postgres://postgres:s3cret@127.0.0.1:1/caseflow?sslmode=disable"}, open, "cannot reach the database", 5},
		{"no key", []string{"CASEFLOW_CODEC_KEYS=", "CASEFLOW_CODEC_KEY_FILE=" + filepath.Join(dir, "missing.keys")}, open, "CASEFLOW_CODEC_KEY_FILE", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			outputs := []string{"table", "json"}
			if strings.Contains(strings.Join(tc.args, " "), "--output") {
				outputs = []string{""}
			}
			for _, output := range outputs {
				args := tc.args
				if output != "" {
					args = append(args[:len(args):len(args)], "--output", output)
				}
				r := e.cliEnv(tc.env, args...)
				require.Equal(t, tc.code, r.code, "stdout: %s stderr: %s", r.stdout, r.stderr)
				if output == "json" {
					requireErrorObject(t, r, tc.code)
				} else {
					require.Empty(t, r.stdout, "nothing on stdout for an error")
				}
				require.Contains(t, r.stderr, tc.want)
				require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
				require.NotContains(t, r.stderr, "goroutine")
				require.NotContains(t, r.stderr, "s3cret")
			}
		})
	}
	// Nothing was written by any of them.
	require.Equal(t, 1, e.count(`SELECT count(*) FROM patients`))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM cases`))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM case_events`))
	var st workflows.Status
	e.okJSON(&st, "case", "show", id)
	require.Equal(t, care.PhaseScreening, st.Phase)
	require.Len(t, st.Timeline, 1)

	// A closed case refuses further actions with a clear message.
	e.ok("case", "close", id, "--reason", "consent-withdrawn")
	r := e.cli("case", "contact", id, "--with", "client")
	require.Equal(t, 4, r.code, "not allowed: %s", r.stderr)
	require.Contains(t, r.stderr, "is closed")
}

func TestMigrateCreatesTheDatabaseAndIsIdempotent(t *testing.T) {
	e := newEnv(t)
	dsn := strings.Replace(e.dsn, "caseflow_test_", "caseflow_test_m", 1)
	t.Cleanup(func() {
		_, _ = e.db.Exec(`DROP DATABASE IF EXISTS ` + dsn[strings.LastIndex(dsn, "/")+1:strings.Index(dsn, "?")] + ` WITH (FORCE)`)
	})
	var first, second struct {
		Created bool    `json:"database_created"`
		Applied []int64 `json:"applied"`
		Version int64   `json:"version"`
	}
	e.okJSON(&first, "migrate", "--timeout", "30s")
	require.Positive(t, first.Version)
	r := e.cliEnv([]string{"DATABASE_URL=" + dsn}, "migrate", "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, `"database_created": true`)
	r = e.cliEnv([]string{"DATABASE_URL=" + dsn}, "migrate", "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, jsonUnmarshal(r.stdout, &second))
	require.False(t, second.Created)
	require.Empty(t, second.Applied)
}

func kinds(items []workflows.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Kind)
	}
	return out
}

// rawHistory is the case's history as Temporal stores it, read without the
// codec.
func rawHistory(t *testing.T, workflowID string) string {
	t.Helper()
	return rawRunHistory(t, workflowID, "")
}

// rawRunHistory is rawHistory of one run of a workflow ("": the latest).
func rawRunHistory(t *testing.T, workflowID, runID string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := plainConn.GetWorkflowHistory(ctx, workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var sb strings.Builder
	sb.WriteString(`{"events":[`)
	first := true
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		b, err := protojson.Marshal(ev)
		require.NoError(t, err)
		if !first {
			sb.WriteString(",")
		}
		first = false
		sb.Write(b)
	}
	sb.WriteString("]}")
	return sb.String()
}

// recordHistory refreshes a recorded history under workflows/testdata when
// CASEFLOW_RECORD_HISTORIES=1 (see docs/workflow-changes.md).
func recordHistory(t *testing.T, name, history string) {
	if os.Getenv("CASEFLOW_RECORD_HISTORIES") != "1" {
		return
	}
	path := filepath.Join(root, "workflows", "testdata", "histories", name+".json")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(history+"\n"), 0o644))
	t.Logf("recorded %s", path)
}

func TestLoopsBackAndAnExternalDischargeSignal(t *testing.T) {
	e := newEnv(t)
	id := e.openRiver()
	var st workflows.Status
	e.ok("case", "screen", id, "--eligible")
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json")
	e.ok("case", "stratify", id, "--category", "intermediate")
	e.ok("case", "plan", id, "--file", "demo/river/plan.json")
	waitPhase := func(p care.Phase) {
		require.Eventually(t, func() bool {
			e.okJSON(&st, "case", "show", id)
			return st.Phase == p
		}, 20*time.Second, 200*time.Millisecond)
	}
	waitPhase(care.PhaseFollowUp)
	e.okJSON(&st, "case", "contact", id, "--with", "provider", "--back-to", "assessment", "--notes", "new fall at home")
	require.Equal(t, care.PhaseAssessment, st.Phase)
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json", "--age", "80")
	e.okJSON(&st, "case", "stratify", id, "--category", "acute")
	require.Equal(t, care.RiskHigh, st.Risk, "age 80 raises the proposal to high")
	e.ok("case", "plan", id, "--file", "demo/river/plan.json")
	waitPhase(care.PhaseFollowUp)

	// A hospital ADT feed reports the discharge with a signal.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, codecConn.SignalWorkflow(ctx, care.WorkflowID(id), "", workflows.SignalTransition,
		care.Transition{Kind: care.TransitionDischarge, From: "city hospital", To: "home", Date: time.Now().UTC().Format(time.DateOnly)}))
	waitPhase(care.PhasePostTransition)
	require.Equal(t, care.ActorSystem, st.Timeline[len(st.Timeline)-1].Actor)
	e.ok("case", "close", id, "--reason", "transferred")

	var actions []string
	var events []care.Event
	e.okJSON(&events, "case", "history", id)
	for _, ev := range events {
		if ev.Action != "service" {
			actions = append(actions, ev.Action)
		}
	}
	require.Equal(t, []string{"opened", "screen", "assess", "stratify", "plan", "coordinated", "contact",
		"assess", "stratify", "plan", "coordinated", "transition", "close"}, actions)
	recordHistory(t, "loops-and-adt-signal-attrs", rawHistory(t, care.WorkflowID(id)))
}

func TestIneligibleScreeningClosesTheCase(t *testing.T) {
	e := newEnv(t)
	id := e.openRiver()
	out := e.ok("case", "screen", id, "--not-eligible", "--reason", "enrolled with another agency")
	require.Contains(t, out, "not eligible: case closed")
	require.Equal(t, "ineligible", func() string {
		var r string
		require.NoError(t, e.db.Get(&r, `SELECT closure_reason FROM cases WHERE case_id = $1`, id))
		return r
	}())
	recordHistory(t, "ineligible-attrs", rawHistory(t, care.WorkflowID(id)))
}

// requireClosedRiverRows checks PostgreSQL's record of a River case that went
// open → closed (goals met) through every step once, and returns its last
// closeRiverFromFollowUp takes River's case from follow-up to closed as the
// README's tour does: a contact, the discharge, the post-discharge contact,
// the evaluation and the closing, checking the phase after each.
func (e *env) closeRiverFromFollowUp(id string) {
	t := e.t
	var st workflows.Status
	e.okJSON(&st, "case", "contact", id, "--with", "client", "--notes", "physio going well")
	e.okJSON(&st, "case", "transition", id, "--kind", "discharge", "--from", "rehab unit", "--to", "home", "--date", time.Now().UTC().Format(time.DateOnly))
	require.Equal(t, care.PhasePostTransition, st.Phase)
	require.Contains(t, kinds(st.OpenItems), "tcm-contact")
	e.okJSON(&st, "case", "contact", id, "--with", "family")
	e.okJSON(&st, "case", "evaluate", id, "--file", "demo/river/evaluation.json")
	require.Equal(t, care.PhaseEvaluation, st.Phase)
	e.okJSON(&st, "case", "close", id, "--reason", "goals-met")
	require.Equal(t, care.PhaseClosed, st.Phase)
}

// event sequence number.
func (e *env) requireClosedRiverRows(id string) int {
	t := e.t
	t.Helper()
	var row struct {
		Phase, Risk, Category, Reason string
		Seq                           int
		Closed                        *time.Time
	}
	require.NoError(t, e.db.QueryRow(`SELECT phase, risk, care_category, closure_reason, last_event_seq, closed_at FROM cases WHERE case_id = $1`, id).
		Scan(&row.Phase, &row.Risk, &row.Category, &row.Reason, &row.Seq, &row.Closed))
	require.Equal(t, "closed", row.Phase)
	require.Equal(t, "high", row.Risk)
	require.Equal(t, "acute", row.Category)
	require.Equal(t, "goals-met", row.Reason)
	require.NotNil(t, row.Closed)
	// Eleven steps of staff and phase; the services' coordination adds its own events.
	require.Equal(t, 11, e.count(`SELECT count(*) FROM case_events WHERE case_id = $1 AND action <> 'service'`, id))
	require.Equal(t, row.Seq, e.count(`SELECT count(*) FROM case_events WHERE case_id = $1`, id))
	require.Equal(t, 4, e.count(`SELECT count(*) FROM case_services WHERE case_id = $1 AND service_id NOT LIKE 'tcm-visit-%'`, id))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM case_services WHERE case_id = $1 AND service_id LIKE 'tcm-visit-%' AND code = 'primary-care'`, id),
		"the discharge booked the face-to-face visit through scheduling")
	return row.Seq
}
