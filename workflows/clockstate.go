package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/caseflow/caseflow/care"
)

// Change ids of the audited clocks (issue 12; see docs/workflow-changes.md).
const (
	// versionEventDates: a discharge's clocks run from its own date and
	// time (a late entry records the past clocks missed at their due times,
	// with one late-entry alert); transition dates are checked; a second
	// discharge without an admission is refused; a new discharge supersedes
	// the old clocks and visit booking; a readmission is counted from the
	// discharge date to its own date and corrects a watch already closed.
	versionEventDates = "event-dates"
	// versionReadmissionAnyPhase: the hospital feed's readmission applies
	// in every open phase after a discharge (before: only in follow-up and
	// post-transition), and its transitions are checked like staff's.
	versionReadmissionAnyPhase = "readmission-any-phase"
	// versionPauseKeepsDeadlines: a pause suspends the calls and the
	// cadence only; the TCM, readmission and other deadlines keep running
	// and still fire (before: nothing fired, and resume moved every due
	// time by the paused time). It also sets the CasePaused search
	// attribute.
	versionPauseKeepsDeadlines = "pause-keeps-deadlines"
	// versionResumeFromCadence: resume moves a follow-up cadence that
	// (re)started during the pause (ClockState.CadenceSince) by the time it
	// ran paused, not by the whole pause. Asked only at such a resume.
	versionResumeFromCadence = "resume-from-cadence"
	// versionTCMAsBilled: the face-to-face visit clock is met only with the
	// patient present; medication reconciliation falls due by the date of
	// the visit that happened; a missed clock done afterwards is recorded
	// done late.
	versionTCMAsBilled = "tcm-as-billed"
	// versionCalendarMonths: a monthly cadence of a program with
	// follow_up.calendar_months falls due on the same day of every
	// calendar month instead of every 30 days.
	versionCalendarMonths = "calendar-month-cadence"
	// versionEvaluationRules: goals-met closing needs an evaluation, and
	// evaluating from follow-up without a transition needs an explicit
	// reason.
	versionEvaluationRules = "evaluation-rules"
	// versionRiskRulesData: the risk rules are the versioned data of the
	// case's policy (risk_rules), scoring every factor the assessment
	// collects and leaving an omitted answer unknown.
	versionRiskRulesData = "risk-rules-data"
	// versionEventTimes: an attended visit counts at the time it happened
	// (its appointment's start), not when its attendance reached the case,
	// so a visit on its last day reported the next morning meets its clock
	// (before: the clock had fired missed and stayed so) and the medication
	// reconciliation falls due by the visit's own date; a readmission's days
	// are counted on the program's calendar (before: an evening entry, in
	// the workflow's UTC clock, counted one day more).
	versionEventTimes = "event-times"
	// versionContactTimes: a contact or call recorded with the time it was
	// made (care.Contact.At, care.CallResult.At, earlier than its entry)
	// counts then: it completes the tasks open at that time, meets a clock
	// due after it (also one that fired missed before the entry), counts as
	// an attempt within the TCM contact window by that time, and adds its
	// minutes to that time's CCM month (not counted when that month's clock
	// has closed). Asked only for an action that carries such a time.
	versionContactTimes = "contact-times"
	// versionTransitionContact: the contact clock of a transfer or level
	// change is kept like a discharge's clocks (TransitionContact): one that
	// fired missed, or was recorded missed because the transfer was entered
	// late, is corrected to met by a contact made by its due time and
	// entered afterwards, and recorded done late by one made after it; a
	// transfer dated without a time and entered on its day counts contacts
	// from the start of that day. An untimed reached call records a missed
	// clock done late, as an untimed contact does. Asked at a transfer or
	// level change, and at an untimed reached call that finds a missed
	// clock to record.
	versionTransitionContact = "transition-contact"
	// versionADTMessageOnce: a transition signal whose external message
	// (care.Transition.Message) the case took already is dropped: the feed
	// delivers a message again when it could not record that it applied it.
	// Asked only for a signal that names its message.
	versionADTMessageOnce = "adt-message-once"
	// versionCCMLastSecond: minutes made in the last second of a CCM month,
	// after the whole second its clock is due at and closes at
	// (care.Month.End), do not count, as minutes of a closed month (before:
	// they opened a second ccm-minutes clock for the same month). Asked
	// only for such minutes.
	versionCCMLastSecond = "ccm-last-second"
	// versionVisitMetMedRec: a face-to-face contact moves the medication
	// reconciliation's due time only when it met (or late-met) the visit
	// clock of the latest discharge (before: any face-to-face contact with
	// the client did, also one made before the discharge). Asked only when
	// such a contact would have moved it.
	versionVisitMetMedRec = "medrec-visit-met"
	// versionDischargeContacts: a discharge entered late counts the
	// latest contact that reached the client or family (and the latest
	// face-to-face visit with the client) recorded before it was entered,
	// when made within its clock: the clock is met then (before: it was
	// recorded missed). Asked only when there is such a contact.
	versionDischargeContacts = "discharge-recorded-contacts"
	// versionReadmissionLateClocks: a readmission entered after it
	// happened cancels the latest discharge's clocks at the readmission's
	// time: open ones, and missed ones that fell due after it (before:
	// open ones at the entry; missed ones stayed missed). Asked only for a
	// readmission entered late that finds such a clock.
	versionReadmissionLateClocks = "readmission-late-clocks"
)

// MessagesKept is how many external messages' keys a case keeps to drop
// repeats: the feed repeats a message it just applied, never an old one.
const MessagesKept = 16

// AttrPaused is set while a case's outreach is paused (cases paused under
// change pause-keeps-deadlines).
var AttrPaused = temporal.NewSearchAttributeKeyBool("CasePaused")

// ClockState is the case state of the audited clocks added by issue 12.
type ClockState struct {
	// PauseKeepsDeadlines: the current pause suspends outreach only.
	PauseKeepsDeadlines bool `json:"pause_keeps_deadlines,omitempty"`
	// PausedAttr: the case has set the CasePaused search attribute.
	PausedAttr bool `json:"paused_attr,omitempty"`
	// CCM is the current calendar month's care-management minutes.
	CCM *care.MonthMinutes `json:"ccm,omitempty"`
	// CallDay is the day of the month a calendar-month cadence falls due.
	CallDay int `json:"call_day,omitempty"`
	// CadenceSince is when the follow-up cadence (re)started while the
	// case was paused (startCalls), cleared at resume: resume moves it by
	// the time since then only (change resume-from-cadence).
	CadenceSince time.Time `json:"cadence_since,omitzero"`
	// Intake is the outcome baseline of the first assessment; Reassessed
	// the latest re-assessment's, when there was one.
	Intake     *care.OutcomeScores `json:"intake,omitempty"`
	Reassessed *care.OutcomeScores `json:"reassessed,omitempty"`
	// ReassessedAt is when the latest re-assessment was recorded.
	ReassessedAt time.Time `json:"reassessed_at,omitzero"`
	// Alerts counts the alerts raised per task and kind: the occurrence
	// part of an alert's id.
	Alerts []AlertCount `json:"alerts,omitempty"`
	// TransitionContact is the contact clock of the latest transfer or
	// level change (change transition-contact).
	TransitionContact *TransitionContact `json:"transition_contact,omitempty"`
	// ClientContactAt is when the latest contact or reached call that
	// reached the client or family was made, and ClientVisitAt the latest
	// face-to-face contact with the client: a discharge entered after them
	// counts them toward its clocks (change discharge-recorded-contacts).
	ClientContactAt time.Time `json:"client_contact_at,omitzero"`
	ClientVisitAt   time.Time `json:"client_visit_at,omitzero"`
}

// TransitionContact is the contact clock of a transfer or level change,
// kept in the case's tasks while it is missed, until the next transition
// (a discharge or readmission cancels or supersedes it too), so that a
// contact entered late can still meet it or record it done late.
type TransitionContact struct {
	TaskID string `json:"task_id"`
	// From is when a contact made then counts toward it: the start of the
	// transition's date when it was dated without a time and entered on
	// that day (the task starts when it was entered), else the task's
	// start.
	From time.Time `json:"from"`
}

// AlertCount is how many alerts of a kind a task raised.
type AlertCount struct {
	TaskID string `json:"task_id"`
	Kind   string `json:"kind"`
	N      int    `json:"n"`
}
