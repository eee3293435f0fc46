package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/caseflow/caseflow/care"
	"github.com/caseflow/caseflow/cli"
	"github.com/caseflow/caseflow/codec"
	"github.com/caseflow/caseflow/internal/testkeys"
	"github.com/caseflow/caseflow/workflows"
)

// The patient data planted by TestPrivacy: nothing of it may be readable in
// what Temporal stores.
const (
	plantedName      = "Zebulon Quixote-Marsh"
	plantedBirthDate = "1931-07-14"
	plantedDiagnosis = "Creutzfeldt-Jakob variant 7"
)

// TestPrivacyNoPatientDataInTemporalWithoutTheKey plants a patient's name,
// birth date and diagnosis into a case that runs on a dev server keeping its
// state in a SQLite file, then looks for them where Temporal keeps them: the
// history as "temporal workflow show" prints it without a codec, and the
// bytes of the database file. With the codec server they decode.
func TestPrivacyNoPatientDataInTemporalWithoutTheKey(t *testing.T) {
	fs := startFileServer(t)
	e := newEnv(t)
	// Run this test's worker and CLI against the file-backed server.
	waitPollers(t, plainConn, e.taskQueue)
	e.stopWorker()
	on := []string{"TEMPORAL_ADDRESS=" + fs.addr()}
	w := startWorkerWith(e, on...)

	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ref := fmt.Sprintf("MRN-PRIV-%X", b)
	notes := plantedName + " (born " + plantedBirthDate + "): " + plantedDiagnosis
	var res cli.OpenResult
	mustCLIJSON(e, on, &res, "case", "open", "--patient-ref", ref, "--name", plantedName, "--birth-date", plantedBirthDate,
		"--program", "complex-case", "--model", "clinical", "--manager", "cm-ana", "--source", "referral")
	id := res.CaseID
	wfID := care.WorkflowID(id)
	var st workflows.Status
	mustCLIJSON(e, on, &st, "case", "screen", id, "--eligible", "--notes", "screened: "+notes)
	mustCLIJSON(e, on, &st, "case", "assess", id, "--file", "demo/river/assessment.json", "--notes", "assessed: "+notes)
	mustCLIJSON(e, on, &st, "case", "stratify", id, "--category", "acute")
	mustCLIJSON(e, on, &st, "case", "plan", id, "--file", "demo/river/plan.json")
	require.Eventually(t, func() bool {
		mustCLIJSON(e, on, &st, "case", "show", id)
		return st.Phase == care.PhaseFollowUp
	}, 60*time.Second, 250*time.Millisecond, "coordination did not finish; worker log:\n%s", w.log)
	mustCLIJSON(e, on, &st, "case", "contact", id, "--with", "client", "--notes", "called: "+notes)
	mustCLIJSON(e, on, &st, "case", "close", id, "--reason", "transferred", "--notes", "closed: "+notes)
	require.Equal(t, care.PhaseClosed, st.Phase)
	require.Contains(t, st.Assessment.Notes, plantedDiagnosis, "the CLI with the key reads the notes back")
	waitClosed(t, fs.srv.Client(), wfID)

	// PostgreSQL has the patient: the name and birth date went there only.
	require.Equal(t, 1, e.count(`SELECT count(*) FROM patients WHERE name = $1 AND birth_date = $2`, plantedName, plantedBirthDate))

	// A workflow started without the codec shows that the checks below
	// would find plain text if it were there.
	canary, canaryInput := "privacy-canary-"+fmt.Sprintf("%x", b), "plain-canary-payload-"+fmt.Sprintf("%x", b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := fs.srv.Client().ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: canary, TaskQueue: "privacy-canary-nobody-polls"}, "Canary", canaryInput)
	require.NoError(t, err)

	secrets := []string{plantedName, "Zebulon", "Quixote", plantedBirthDate, plantedDiagnosis, "Creutzfeldt", ref}

	// 1. The history as the temporal CLI shows it without a codec.
	raw := temporalCLI(t, "workflow", "show", "--output", "json", "--address", fs.addr(), "--namespace", "default", "-w", wfID)
	require.Positive(t, occurrences([]byte(raw), codec.EncodingEncrypted), "the history holds encrypted payloads")
	// Every payload outside the search attributes is encrypted: inputs,
	// results, update and signal arguments, failures, and also the user
	// metadata (static summary and details, activity and timer summaries),
	// which the Go SDK converts with the client's data converter.
	for _, ev := range historyEvents(t, fs.srv.Client(), wfID) {
		for _, p := range payloadsIn(ev) {
			require.Equal(t, codec.EncodingEncrypted, string(p.GetMetadata()[codec.MetadataEncoding]), "plain payload in %v", ev)
		}
	}
	for _, s := range secrets {
		assert.Zero(t, occurrences([]byte(raw), s), "%q readable in the history without the codec", s)
	}
	canaryShow := temporalCLI(t, "workflow", "show", "--output", "json", "--address", fs.addr(), "--namespace", "default", "-w", canary)
	require.Positive(t, occurrences([]byte(canaryShow), canaryInput), "control: a plain payload is found")

	// 2. The dev server's database file and its -wal and -shm siblings.
	db := fs.databaseBytes(t)
	require.Positive(t, bytes.Count(db, []byte(wfID)), "control: the case's workflow id is in the database file")
	require.Positive(t, bytes.Count(db, []byte(canaryInput)), "control: a plain payload is readable in the database file")
	for _, s := range secrets {
		assert.Zero(t, bytes.Count(db, []byte(s)), "%q in the dev server's database file", s)
	}

	// 3. Nor in the logs of the worker and the dev server.
	w.stop(t)
	for _, s := range secrets {
		assert.NotContains(t, w.log.String(), s, "worker log")
		assert.NotContains(t, fs.log.String(), s, "dev server log")
	}

	// 4. Through the codec server the same history decodes.
	cs := startCodecServer(t, testkeys.Spec)
	viaURL := temporalCLI(t, "workflow", "show", "--output", "json", "--address", fs.addr(), "--namespace", "default", "-w", wfID,
		"--codec-endpoint", cs.url+"/ui/"+cs.token)
	viaBearer := temporalCLI(t, "workflow", "show", "--output", "json", "--address", fs.addr(), "--namespace", "default", "-w", wfID,
		"--codec-endpoint", cs.url, "--codec-auth", "Bearer "+cs.token)
	// The same without the token on the command line: the temporal CLI
	// reads the codec settings from its environment too.
	viaEnv := temporalCLIEnv(t, []string{"TEMPORAL_CODEC_ENDPOINT=" + cs.url, "TEMPORAL_CODEC_AUTH=Bearer " + cs.token},
		"workflow", "show", "--output", "json", "--address", fs.addr(), "--namespace", "default", "-w", wfID)
	for _, decoded := range []string{viaURL, viaBearer, viaEnv} {
		require.Zero(t, occurrences([]byte(decoded), codec.EncodingEncrypted), "every payload decodes")
		for _, s := range []string{plantedDiagnosis, plantedName, plantedBirthDate, `"patient_id"`} {
			require.Positive(t, occurrences([]byte(decoded), s), "%q not in the decoded history", s)
		}
	}

	// 5. Without the token, or with a wrong one, the codec server refuses.
	input := startInput(t, fs.srv.Client(), wfID)
	for name, tc := range map[string]struct{ path, auth string }{
		"no token":           {"/decode", ""},
		"wrong bearer":       {"/decode", "Bearer " + strings.Repeat("x", len(cs.token))},
		"token not bearer":   {"/decode", cs.token},
		"no token in URL":    {"/ui/decode", ""},
		"wrong token in URL": {"/ui/" + strings.Repeat("x", len(cs.token)) + "/decode", ""},
		"token in URL query": {"/decode?token=" + cs.token, ""},
	} {
		status, body := cs.post(t, tc.path, tc.auth, input)
		assert.Equal(t, http.StatusUnauthorized, status, name)
		assert.NotContains(t, body, plantedName, name)
	}
	status, body := cs.post(t, "/ui/"+cs.token+"/decode", "", input)
	require.Equal(t, http.StatusOK, status, body)
	require.Positive(t, occurrences([]byte(body), `"patient_id"`), "the decoded input: %s", body)
	status, _ = cs.post(t, "/ui/"+cs.token+"/encode", "", input)
	require.Equal(t, http.StatusForbidden, status, "a token in the URL only decodes")

	// The codec server logged who decoded what, never the data or the token.
	log := cs.stop(t)
	require.Contains(t, log, "auth=url-token")
	require.Contains(t, log, "auth=bearer")
	require.Contains(t, log, "namespace=default")
	require.Contains(t, log, "status=401")
	require.Regexp(t, `payloads=[1-9]`, log)
	require.NotContains(t, log, cs.token)
	for _, s := range secrets {
		require.NotContains(t, log, s)
	}
}

// TestRotationCaseStartedUnderOneKeyCompletesUnderTheNext starts a case with
// key A only, then makes key B primary (keyring B,A) for the worker and the
// CLI, and runs the case to its end.
func TestRotationCaseStartedUnderOneKeyCompletesUnderTheNext(t *testing.T) {
	keyA := testkeys.Spec
	idA, _, _ := strings.Cut(keyA, ":")
	raw := make([]byte, codec.KeySize)
	_, _ = rand.Read(raw)
	keyB := "rotated-k2:" + base64.StdEncoding.EncodeToString(raw)
	idB, _, _ := strings.Cut(keyB, ":")

	e := newEnv(t) // worker and CLI with key A only
	waitPollers(t, plainConn, e.taskQueue)
	id := e.openRiver()
	wfID := care.WorkflowID(id)
	e.ok("case", "screen", id, "--eligible")
	e.ok("case", "assess", id, "--file", "demo/river/assessment.json", "--notes", "assessed under key A")

	// Key B becomes primary: the worker restarts with B,A, so does the CLI.
	e.stopWorker()
	rotated := []string{"CASEFLOW_CODEC_KEYS=" + keyB + "," + keyA}
	w := startWorkerWith(e, rotated...)
	var st workflows.Status
	mustCLIJSON(e, rotated, &st, "case", "stratify", id, "--category", "acute")
	require.Equal(t, care.PhasePlanning, st.Phase)
	require.Equal(t, "assessed under key A", st.Assessment.Notes, "state written under key A reads back under B,A")
	mustCLIJSON(e, rotated, &st, "case", "plan", id, "--file", "demo/river/plan.json")
	require.Eventually(t, func() bool {
		mustCLIJSON(e, rotated, &st, "case", "show", id)
		return st.Phase == care.PhaseFollowUp
	}, 60*time.Second, 250*time.Millisecond, "worker log:\n%s", w.log)
	mustCLIJSON(e, rotated, &st, "case", "contact", id, "--with", "client", "--notes", "contacted under key B")
	mustCLIJSON(e, rotated, &st, "case", "close", id, "--reason", "transferred")
	require.Equal(t, care.PhaseClosed, st.Phase)
	waitClosed(t, plainConn, wfID)

	// The CLI with key A alone cannot read what was written under B.
	r := e.cliEnv([]string{"CASEFLOW_CODEC_KEYS=" + keyA}, "case", "show", id)
	require.Equal(t, 1, r.code, r.stdout)
	require.Contains(t, r.stderr, `unknown key "`+idB+`"`)

	// The history names both keys, the early payloads key A.
	events := historyEvents(t, plainConn, wfID)
	ids := map[string]int{}
	var all []*commonpb.Payload
	for _, ev := range events {
		for _, p := range payloadsIn(ev) {
			all = append(all, p)
			ids[string(p.GetMetadata()[codec.MetadataKeyID])]++
		}
	}
	require.Positive(t, ids[idA], "payloads under key A: %v", ids)
	require.Positive(t, ids[idB], "payloads under key B: %v", ids)
	require.Len(t, ids, 2, "every payload names key A or key B: %v", ids)
	early := events[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	require.NotEmpty(t, early)
	require.Equal(t, idA, string(early[0].GetMetadata()[codec.MetadataKeyID]))

	// Key B alone cannot decode the early payloads; B,A decodes everything.
	onlyB, err := codec.ParseKeyring(keyB)
	require.NoError(t, err)
	_, err = codec.NewCodec(onlyB).Decode(early)
	require.Error(t, err)
	require.Contains(t, err.Error(), `unknown key "`+idA+`"`)
	both, err := codec.ParseKeyring(keyB + "," + keyA)
	require.NoError(t, err)
	decoded, err := codec.NewCodec(both).Decode(all)
	require.NoError(t, err)
	var text strings.Builder
	for _, p := range decoded {
		require.NotEqual(t, codec.EncodingEncrypted, string(p.GetMetadata()[codec.MetadataEncoding]))
		text.Write(p.GetData())
	}
	require.Contains(t, text.String(), "assessed under key A")
	require.Contains(t, text.String(), "contacted under key B")
	var in workflows.CaseInput
	decodedEarly, err := codec.NewCodec(both).Decode(early)
	require.NoError(t, err)
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(decodedEarly[0], &in))
	require.Equal(t, id, in.Case.ID)
}

// --- helpers ---

// fileServer is a second dev server that keeps its state in a SQLite file,
// so that a test can read the bytes Temporal stores.
type fileServer struct {
	srv *testsuite.DevServer
	db  string
	log *syncBuffer
}

func (f *fileServer) addr() string { return f.srv.FrontendHostPort() }

func startFileServer(t *testing.T) *fileServer {
	t.Helper()
	f := &fileServer{db: filepath.Join(t.TempDir(), "temporal.db"), log: &syncBuffer{}}
	attrs := temporal.NewSearchAttributes(
		workflows.AttrPhase.ValueSet(""), workflows.AttrRisk.ValueSet(""), workflows.AttrProgram.ValueSet(""),
		workflows.AttrManager.ValueSet(""), workflows.AttrNextDue.ValueSet(time.Time{}),
	)
	srv, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:     temporalBinary(),
		DBFilename:       f.db,
		ClientOptions:    &client.Options{Namespace: "default", Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))},
		SearchAttributes: attrs,
		LogLevel:         "warn",
		Stdout:           f.log,
		Stderr:           f.log,
	})
	require.NoError(t, err)
	f.srv = srv
	t.Cleanup(func() { _ = srv.Stop() })
	return f
}

// databaseBytes reads the database file and its siblings (-wal, -shm,
// -journal). SQLite deletes a rollback journal when its transaction commits,
// so one listed a moment ago may be gone: what it held is in the database.
func (f *fileServer) databaseBytes(t *testing.T) []byte {
	t.Helper()
	files, err := filepath.Glob(f.db + "*")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var all []byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) && p != f.db {
			continue
		}
		require.NoError(t, err)
		all = append(all, b...)
	}
	return all
}

func temporalBinary() string {
	if p := os.Getenv("CASEFLOW_TEMPORAL_BIN"); p != "" {
		return p
	}
	return filepath.Join(root, "bin", "temporal")
}

// temporalCLI runs the temporal CLI with a clean environment (no config
// file, no TEMPORAL_* variables) and returns its stdout.
func temporalCLI(t *testing.T, args ...string) string {
	t.Helper()
	return temporalCLIEnv(t, nil, args...)
}

// temporalCLIEnv is temporalCLI with extra environment variables.
func temporalCLIEnv(t *testing.T, extraEnv []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(temporalBinary(), args...)
	home := t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}, extraEnv...)
	cmd.Dir = home
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "temporal %s\n%s", strings.Join(args, " "), errb.String())
	return out.String()
}

// occurrences counts s in doc, a JSON document, both as written and inside
// its base64-encoded strings (payload data the CLI could not show as JSON).
func occurrences(doc []byte, s string) int {
	n := bytes.Count(doc, []byte(s))
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			if b, err := base64.StdEncoding.DecodeString(v); err == nil {
				n += bytes.Count(b, []byte(s))
			}
		}
	}
	var v any
	if json.Unmarshal(doc, &v) == nil {
		walk(v)
	}
	return n
}

// bgWorker is a caseflow-worker process started by startWorkerWith.
type bgWorker struct {
	cmd *exec.Cmd
	log *syncBuffer
}

// startWorkerWith starts a caseflow-worker for e with extra environment
// (which overrides e's), stopped at the end of the test.
func startWorkerWith(e *env, extra ...string) *bgWorker {
	e.t.Helper()
	w := &bgWorker{cmd: exec.Command(filepath.Join(binDir, "caseflow-worker")), log: &syncBuffer{}}
	w.cmd.Env = e.environ(extra...)
	w.cmd.Stdout, w.cmd.Stderr = w.log, w.log
	require.NoError(e.t, w.cmd.Start())
	e.t.Cleanup(func() { w.stop(e.t) })
	return w
}

func (w *bgWorker) stop(t *testing.T) {
	if w.cmd == nil {
		return
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("worker did not stop cleanly: %v\n%s", err, w.log)
		}
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		t.Errorf("worker did not stop within 30s of SIGTERM")
	}
	w.cmd = nil
}

// mustCLIJSON runs the caseflow CLI for e with extra environment and
// --output json, requires success and decodes stdout into v.
func mustCLIJSON(e *env, extra []string, v any, args ...string) {
	e.t.Helper()
	r := e.cliEnv(extra, append(args, "--output", "json")...)
	require.Equal(e.t, 0, r.code, "caseflow %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.stdout, r.stderr)
	require.NoError(e.t, json.Unmarshal([]byte(r.stdout), v), "stdout is not JSON: %q", r.stdout)
}

// codecServer is "caseflow codec-server" run as a subprocess.
type codecServer struct {
	url, token string
	cmd        *exec.Cmd
	log        *syncBuffer
}

func startCodecServer(t *testing.T, keys string) *codecServer {
	t.Helper()
	tok := make([]byte, 32)
	_, _ = rand.Read(tok)
	cs := &codecServer{token: base64.RawURLEncoding.EncodeToString(tok), log: &syncBuffer{}}
	cs.cmd = exec.Command(filepath.Join(binDir, "caseflow"), "codec-server", "--addr", "127.0.0.1:0", "--output", "json")
	cs.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "CASEFLOW_ACTOR=cm-ana",
		"CASEFLOW_CODEC_KEYS=" + keys, cli.EnvCodecToken + "=" + cs.token}
	cs.cmd.Stderr = cs.log
	stdout, err := cs.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cs.cmd.Start())
	t.Cleanup(func() { cs.stop(t) })
	var ready struct {
		URL string `json:"url"`
	}
	require.NoError(t, json.NewDecoder(stdout).Decode(&ready), "codec server log:\n%s", cs.log)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	cs.url = ready.URL
	return cs
}

// post sends payloads to the codec server and returns status and body.
func (cs *codecServer) post(t *testing.T, path, auth string, payloads []*commonpb.Payload) (int, string) {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, cs.url+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(out)
}

// stop stops the codec server with SIGTERM, requires a clean exit and
// returns its log.
func (cs *codecServer) stop(t *testing.T) string {
	if cs.cmd != nil {
		_ = cs.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cs.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("codec server did not stop cleanly: %v\n%s", err, cs.log)
			}
		case <-time.After(10 * time.Second):
			_ = cs.cmd.Process.Kill()
			t.Errorf("codec server did not stop within 10s of SIGTERM")
		}
		cs.cmd = nil
	}
	return cs.log.String()
}

// waitPollers waits until a worker polls the task queue (then it stops
// cleanly on SIGTERM).
func waitPollers(t *testing.T, c client.Client, taskQueue string) {
	t.Helper()
	require.Eventually(t, func() bool {
		d, err := c.DescribeTaskQueue(context.Background(), taskQueue, enums.TASK_QUEUE_TYPE_WORKFLOW)
		return err == nil && len(d.GetPollers()) > 0
	}, 30*time.Second, 100*time.Millisecond, "no worker polls %s", taskQueue)
}

// waitClosed waits until the workflow is completed.
func waitClosed(t *testing.T, c client.Client, workflowID string) {
	t.Helper()
	require.Eventually(t, func() bool {
		d, err := c.DescribeWorkflowExecution(context.Background(), workflowID, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}, 30*time.Second, 200*time.Millisecond)
}

// historyEvents reads every event of the workflow's current run with c.
func historyEvents(t *testing.T, c client.Client, workflowID string) []*historypb.HistoryEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		out = append(out, ev)
	}
	return out
}

// startInput is the encoded input of the workflow's first run.
func startInput(t *testing.T, c client.Client, workflowID string) []*commonpb.Payload {
	t.Helper()
	events := historyEvents(t, c, workflowID)
	return payloadsIn(events[0])
}

// payloadsIn collects every Payload message inside m, except search
// attributes (which Temporal must read, so they are never encrypted).
func payloadsIn(m proto.Message) []*commonpb.Payload {
	var out []*commonpb.Payload
	var walk func(protoreflect.Message)
	walk = func(m protoreflect.Message) {
		switch v := m.Interface().(type) {
		case *commonpb.Payload:
			out = append(out, v)
			return
		case *commonpb.SearchAttributes:
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsMap():
				if fd.MapValue().Message() != nil {
					v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
						walk(mv.Message())
						return true
					})
				}
			case fd.IsList():
				if fd.Message() != nil {
					for i := 0; i < v.List().Len(); i++ {
						walk(v.List().Get(i).Message())
					}
				}
			case fd.Message() != nil:
				walk(v.Message())
			}
			return true
		})
	}
	walk(m.ProtoReflect())
	return out
}

// syncBuffer is a bytes.Buffer safe for a process's output and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
