-- +goose Up
-- A reset puts the tasks back as the live steps left them. Before, a task
-- that the replaced run opened, closed or changed after the reset's point
-- stayed as that run left it: an escalation the new run never raised
-- stayed open on a worklist, a call it had not made yet stayed done, and
-- the reports counted both. Now each step's task writes are kept
-- (task_writes, keyed on the case, task, run and seq of the step), and
-- the reset restores each task a now superseded step wrote to its latest
-- write by a live step, or removes it if only superseded steps wrote it.
--
-- The tasks as they stand are kept as the first write of each (run '',
-- seq 0, never superseded): a reset after this migration restores a task
-- written before it to how it stood at the migration, the earliest state
-- known. Resets recorded before this migration are not repaired: what
-- their replaced runs wrote to tasks was never kept.
CREATE TABLE task_writes (
    case_id text NOT NULL REFERENCES cases (case_id),
    task_id text NOT NULL,
    run_id  text NOT NULL,
    seq     integer NOT NULL,
    task    jsonb NOT NULL,
    pos     bigserial,
    PRIMARY KEY (case_id, task_id, run_id, seq)
);

INSERT INTO task_writes (case_id, task_id, run_id, seq, task)
SELECT case_id, task_id, '', 0, to_jsonb(t) - 'updated_at' FROM tasks t;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION caseflow_record_step(
    c_case_id text, c_patient_id text, c_program text, c_model text, c_manager text, c_source text,
    c_phase text, c_risk text, c_risk_score integer, c_care_category text, c_closure_reason text,
    c_opened_at timestamptz, c_closed_at timestamptz, c_next_due_at timestamptz, c_last_event_seq integer,
    c_paused boolean,
    e_run_id text, e_seq integer, e_at timestamptz, e_actor text, e_action text,
    e_phase_before text, e_phase_after text, e_summary text, e_detail jsonb,
    reset_actor text, reset_action text, step_tasks jsonb)
RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    was_recorded boolean;
    was_superseded boolean;
    live_others text[];
    last_seq integer;
    is_reset boolean := false;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('case-step:' || c_case_id));
    -- The same step recorded before, under any run (a retry, also one that
    -- began before runs were recorded).
    was_recorded := EXISTS (SELECT 1 FROM case_events
        WHERE case_id = c_case_id AND seq = e_seq AND action = e_action AND at = e_at AND run_id IN (e_run_id, ''));
    was_superseded := EXISTS (SELECT 1 FROM superseded_runs WHERE case_id = c_case_id AND run_id = e_run_id);
    -- The other runs with live steps at or after this one: the case was
    -- reset, and this run re-runs them. A run an earlier reset replaced
    -- from a later point still has live steps before that point: a reset
    -- to before them supersedes those too.
    IF NOT was_recorded AND NOT was_superseded AND e_run_id <> '' THEN
        live_others := ARRAY(SELECT DISTINCT e.run_id FROM case_events e
            WHERE e.case_id = c_case_id AND e.seq >= e_seq AND e.run_id <> e_run_id
            AND NOT EXISTS (SELECT 1 FROM superseded_runs r WHERE r.case_id = e.case_id AND r.run_id = e.run_id
                AND e.seq >= r.from_seq)
            ORDER BY e.run_id);
        IF cardinality(live_others) > 0 THEN
            is_reset := true;
            SELECT COALESCE(max(seq), 0) INTO last_seq FROM case_events WHERE case_id = c_case_id;
            INSERT INTO superseded_runs (case_id, run_id, by_run_id, from_seq)
                SELECT c_case_id, o, e_run_id, e_seq FROM unnest(live_others) AS o
                ON CONFLICT (case_id, run_id) DO UPDATE SET from_seq = LEAST(superseded_runs.from_seq, EXCLUDED.from_seq);
            INSERT INTO case_events (case_id, run_id, seq, at, actor, action, phase_before, phase_after, summary, detail)
                VALUES (c_case_id, e_run_id, e_seq, e_at, reset_actor, reset_action, e_phase_before, e_phase_before,
                    format('workflow reset: run %s takes the case over from event %s; events %s to %s of run %s were superseded and stay in the trail',
                        e_run_id, e_seq, e_seq, last_seq, array_to_string(live_others, ', ')),
                    jsonb_build_object('run_id', e_run_id, 'from_seq', e_seq, 'superseded_to_seq', last_seq,
                        'superseded_runs', to_jsonb(live_others)))
                ON CONFLICT (case_id, run_id, seq, action) DO NOTHING;
            -- The tasks a now superseded step wrote go back to what the
            -- live steps left them: the latest write of a step that is not
            -- superseded, or no task, for one that only superseded steps
            -- wrote. The re-run steps write them again as they go.
            WITH restored AS (
                SELECT w.task_id, (SELECT l.task FROM task_writes l
                        WHERE l.case_id = c_case_id AND l.task_id = w.task_id
                        AND NOT EXISTS (SELECT 1 FROM superseded_runs r WHERE r.case_id = l.case_id
                            AND r.run_id = l.run_id AND l.seq >= r.from_seq)
                        ORDER BY l.seq DESC, l.pos DESC LIMIT 1) AS live
                FROM task_writes w
                JOIN superseded_runs r ON r.case_id = w.case_id AND r.run_id = w.run_id AND w.seq >= r.from_seq
                WHERE w.case_id = c_case_id
                GROUP BY w.task_id
            ), removed AS (
                DELETE FROM tasks t USING restored x
                WHERE t.case_id = c_case_id AND t.task_id = x.task_id AND x.live IS NULL
            )
            UPDATE tasks t SET kind = l.kind, description = l.description, owner = l.owner,
                started_at = l.started_at, due_at = l.due_at, status = l.status, outcome = l.outcome,
                completed_at = l.completed_at, escalated_at = l.escalated_at, clock = l.clock, met = l.met,
                updated_at = now()
            FROM restored x, jsonb_populate_record(NULL::tasks, x.live) AS l
            WHERE t.case_id = c_case_id AND t.task_id = x.task_id AND x.live IS NOT NULL;
        END IF;
    END IF;
    -- The case row, unless it holds a later step or this run was
    -- superseded; a reset's step replaces it.
    IF NOT was_superseded THEN
        INSERT INTO cases (case_id, patient_id, program, model, manager, source, phase, risk, risk_score,
            care_category, closure_reason, opened_at, closed_at, next_due_at, last_event_seq, run_id, paused)
        VALUES (c_case_id, c_patient_id, c_program, c_model, c_manager, c_source, c_phase, NULLIF(c_risk, ''), c_risk_score,
            NULLIF(c_care_category, ''), NULLIF(c_closure_reason, ''), c_opened_at, c_closed_at, c_next_due_at,
            c_last_event_seq, e_run_id, c_paused)
        ON CONFLICT (case_id) DO UPDATE SET
            phase = EXCLUDED.phase, risk = EXCLUDED.risk, risk_score = EXCLUDED.risk_score,
            care_category = EXCLUDED.care_category, closure_reason = EXCLUDED.closure_reason,
            manager = EXCLUDED.manager, model = EXCLUDED.model,
            closed_at = EXCLUDED.closed_at, next_due_at = EXCLUDED.next_due_at,
            last_event_seq = EXCLUDED.last_event_seq, run_id = EXCLUDED.run_id, paused = EXCLUDED.paused, updated_at = now()
        WHERE cases.last_event_seq < EXCLUDED.last_event_seq OR is_reset;
    END IF;
    -- The event, once.
    IF NOT was_recorded THEN
        INSERT INTO case_events (case_id, run_id, seq, at, actor, action, phase_before, phase_after, summary, detail)
        VALUES (c_case_id, e_run_id, e_seq, e_at, e_actor, e_action, e_phase_before, e_phase_after, e_summary, e_detail)
        ON CONFLICT (case_id, run_id, seq, action) DO NOTHING;
    END IF;
    -- The tasks the step opened or changed, keyed on (case, task): a
    -- retried step writes the same values again. A superseded run's step
    -- writes none: the worklist follows the run that took the case over.
    -- Each write is kept in task_writes, keyed on the step, for a reset to
    -- go back to.
    IF NOT was_superseded THEN
        INSERT INTO task_writes (case_id, task_id, run_id, seq, task)
        SELECT c_case_id, t->>'task_id', e_run_id, e_seq, t FROM jsonb_array_elements(step_tasks) AS t
        ON CONFLICT (case_id, task_id, run_id, seq) DO UPDATE SET task = EXCLUDED.task;
        INSERT INTO tasks (case_id, task_id, kind, description, owner, started_at, due_at, status, outcome,
            completed_at, escalated_at, clock, met)
        SELECT t.case_id, t.task_id, t.kind, t.description, t.owner, t.started_at, t.due_at, t.status, t.outcome,
            t.completed_at, t.escalated_at, t.clock, t.met
        FROM jsonb_to_recordset(step_tasks) AS t(case_id text, task_id text, kind text, description text, owner text,
            started_at timestamptz, due_at timestamptz, status text, outcome text, completed_at timestamptz,
            escalated_at timestamptz, clock boolean, met boolean)
        ON CONFLICT (case_id, task_id) DO UPDATE SET
            description = EXCLUDED.description, owner = EXCLUDED.owner, due_at = EXCLUDED.due_at,
            status = EXCLUDED.status, outcome = EXCLUDED.outcome, completed_at = EXCLUDED.completed_at,
            escalated_at = EXCLUDED.escalated_at, met = EXCLUDED.met, updated_at = now();
    END IF;
    RETURN CASE WHEN was_superseded THEN 'superseded' WHEN was_recorded THEN 'retried'
        WHEN is_reset THEN 'reset' ELSE 'recorded' END;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- The function as 00013 made it.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION caseflow_record_step(
    c_case_id text, c_patient_id text, c_program text, c_model text, c_manager text, c_source text,
    c_phase text, c_risk text, c_risk_score integer, c_care_category text, c_closure_reason text,
    c_opened_at timestamptz, c_closed_at timestamptz, c_next_due_at timestamptz, c_last_event_seq integer,
    c_paused boolean,
    e_run_id text, e_seq integer, e_at timestamptz, e_actor text, e_action text,
    e_phase_before text, e_phase_after text, e_summary text, e_detail jsonb,
    reset_actor text, reset_action text, step_tasks jsonb)
RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    was_recorded boolean;
    was_superseded boolean;
    live_others text[];
    last_seq integer;
    is_reset boolean := false;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('case-step:' || c_case_id));
    -- The same step recorded before, under any run (a retry, also one that
    -- began before runs were recorded).
    was_recorded := EXISTS (SELECT 1 FROM case_events
        WHERE case_id = c_case_id AND seq = e_seq AND action = e_action AND at = e_at AND run_id IN (e_run_id, ''));
    was_superseded := EXISTS (SELECT 1 FROM superseded_runs WHERE case_id = c_case_id AND run_id = e_run_id);
    -- The other runs with live steps at or after this one: the case was
    -- reset, and this run re-runs them. A run an earlier reset replaced
    -- from a later point still has live steps before that point: a reset
    -- to before them supersedes those too.
    IF NOT was_recorded AND NOT was_superseded AND e_run_id <> '' THEN
        live_others := ARRAY(SELECT DISTINCT e.run_id FROM case_events e
            WHERE e.case_id = c_case_id AND e.seq >= e_seq AND e.run_id <> e_run_id
            AND NOT EXISTS (SELECT 1 FROM superseded_runs r WHERE r.case_id = e.case_id AND r.run_id = e.run_id
                AND e.seq >= r.from_seq)
            ORDER BY e.run_id);
        IF cardinality(live_others) > 0 THEN
            is_reset := true;
            SELECT COALESCE(max(seq), 0) INTO last_seq FROM case_events WHERE case_id = c_case_id;
            INSERT INTO superseded_runs (case_id, run_id, by_run_id, from_seq)
                SELECT c_case_id, o, e_run_id, e_seq FROM unnest(live_others) AS o
                ON CONFLICT (case_id, run_id) DO UPDATE SET from_seq = LEAST(superseded_runs.from_seq, EXCLUDED.from_seq);
            INSERT INTO case_events (case_id, run_id, seq, at, actor, action, phase_before, phase_after, summary, detail)
                VALUES (c_case_id, e_run_id, e_seq, e_at, reset_actor, reset_action, e_phase_before, e_phase_before,
                    format('workflow reset: run %s takes the case over from event %s; events %s to %s of run %s were superseded and stay in the trail',
                        e_run_id, e_seq, e_seq, last_seq, array_to_string(live_others, ', ')),
                    jsonb_build_object('run_id', e_run_id, 'from_seq', e_seq, 'superseded_to_seq', last_seq,
                        'superseded_runs', to_jsonb(live_others)))
                ON CONFLICT (case_id, run_id, seq, action) DO NOTHING;
        END IF;
    END IF;
    -- The case row, unless it holds a later step or this run was
    -- superseded; a reset's step replaces it.
    IF NOT was_superseded THEN
        INSERT INTO cases (case_id, patient_id, program, model, manager, source, phase, risk, risk_score,
            care_category, closure_reason, opened_at, closed_at, next_due_at, last_event_seq, run_id, paused)
        VALUES (c_case_id, c_patient_id, c_program, c_model, c_manager, c_source, c_phase, NULLIF(c_risk, ''), c_risk_score,
            NULLIF(c_care_category, ''), NULLIF(c_closure_reason, ''), c_opened_at, c_closed_at, c_next_due_at,
            c_last_event_seq, e_run_id, c_paused)
        ON CONFLICT (case_id) DO UPDATE SET
            phase = EXCLUDED.phase, risk = EXCLUDED.risk, risk_score = EXCLUDED.risk_score,
            care_category = EXCLUDED.care_category, closure_reason = EXCLUDED.closure_reason,
            manager = EXCLUDED.manager, model = EXCLUDED.model,
            closed_at = EXCLUDED.closed_at, next_due_at = EXCLUDED.next_due_at,
            last_event_seq = EXCLUDED.last_event_seq, run_id = EXCLUDED.run_id, paused = EXCLUDED.paused, updated_at = now()
        WHERE cases.last_event_seq < EXCLUDED.last_event_seq OR is_reset;
    END IF;
    -- The event, once.
    IF NOT was_recorded THEN
        INSERT INTO case_events (case_id, run_id, seq, at, actor, action, phase_before, phase_after, summary, detail)
        VALUES (c_case_id, e_run_id, e_seq, e_at, e_actor, e_action, e_phase_before, e_phase_after, e_summary, e_detail)
        ON CONFLICT (case_id, run_id, seq, action) DO NOTHING;
    END IF;
    -- The tasks the step opened or changed, keyed on (case, task): a
    -- retried step writes the same values again. A superseded run's step
    -- writes none: the worklist follows the run that took the case over.
    IF NOT was_superseded THEN
        INSERT INTO tasks (case_id, task_id, kind, description, owner, started_at, due_at, status, outcome,
            completed_at, escalated_at, clock, met)
        SELECT t.case_id, t.task_id, t.kind, t.description, t.owner, t.started_at, t.due_at, t.status, t.outcome,
            t.completed_at, t.escalated_at, t.clock, t.met
        FROM jsonb_to_recordset(step_tasks) AS t(case_id text, task_id text, kind text, description text, owner text,
            started_at timestamptz, due_at timestamptz, status text, outcome text, completed_at timestamptz,
            escalated_at timestamptz, clock boolean, met boolean)
        ON CONFLICT (case_id, task_id) DO UPDATE SET
            description = EXCLUDED.description, owner = EXCLUDED.owner, due_at = EXCLUDED.due_at,
            status = EXCLUDED.status, outcome = EXCLUDED.outcome, completed_at = EXCLUDED.completed_at,
            escalated_at = EXCLUDED.escalated_at, met = EXCLUDED.met, updated_at = now();
    END IF;
    RETURN CASE WHEN was_superseded THEN 'superseded' WHEN was_recorded THEN 'retried'
        WHEN is_reset THEN 'reset' ELSE 'recorded' END;
END
$$;
-- +goose StatementEnd

DROP TABLE task_writes;
