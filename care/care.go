// Package care holds caseflow's domain vocabulary: the phases a case moves
// through, risk levels, care categories, case-management models, closure
// reasons and the records staff produce at each step (screening, assessment,
// stratification, care plan, transition, evaluation).
//
// The types here are shared by the workflow, the activities, the store and the
// CLI. They carry no behaviour that touches the outside world, so the
// deterministic workflow code can use all of them.
package care

import (
	"fmt"
	"slices"
	"strings"
)

// Phase is the step of the care-management process a case is in. It maps to
// FHIR EpisodeOfCare.status: screening is "planned", closed is "finished" or
// "cancelled", everything between is "active".
type Phase string

// The phases of a case, in process order.
const (
	PhaseScreening      Phase = "screening"
	PhaseAssessment     Phase = "assessment"
	PhaseStratification Phase = "risk-stratification"
	PhasePlanning       Phase = "planning"
	PhaseImplementation Phase = "implementation"
	PhaseFollowUp       Phase = "follow-up"
	PhaseTransition     Phase = "transition"
	PhasePostTransition Phase = "post-transition"
	PhaseEvaluation     Phase = "evaluation"
	PhaseClosed         Phase = "closed"
)

// Phases lists every phase in process order.
var Phases = []Phase{PhaseScreening, PhaseAssessment, PhaseStratification, PhasePlanning,
	PhaseImplementation, PhaseFollowUp, PhaseTransition, PhasePostTransition, PhaseEvaluation, PhaseClosed}

// RiskLevel is the outcome of risk stratification.
type RiskLevel string

// Risk levels. RiskUnknown is the level before stratification.
const (
	RiskUnknown  RiskLevel = ""
	RiskLow      RiskLevel = "low"
	RiskModerate RiskLevel = "moderate"
	RiskHigh     RiskLevel = "high"
)

// RiskLevels lists the levels staff may choose.
var RiskLevels = []RiskLevel{RiskLow, RiskModerate, RiskHigh}

// CareCategory is how long and how intensive the care need is.
type CareCategory string

// Care categories.
const (
	CategoryAcute        CareCategory = "acute"
	CategoryIntermediate CareCategory = "intermediate"
	CategoryLongTerm     CareCategory = "long-term"
)

// CareCategories lists every care category.
var CareCategories = []CareCategory{CategoryAcute, CategoryIntermediate, CategoryLongTerm}

// Model is the case-management model; it sets how hands-on the manager is.
type Model string

// Case-management models.
const (
	ModelBrokerage      Model = "brokerage"
	ModelClinical       Model = "clinical"
	ModelStrengthsBased Model = "strengths-based"
	ModelIntensive      Model = "intensive"
)

// Models lists every case-management model.
var Models = []Model{ModelBrokerage, ModelClinical, ModelStrengthsBased, ModelIntensive}

// Source is where a case came from.
type Source string

// Case sources.
const (
	SourceReferral Source = "referral"
	SourceADT      Source = "adt"
	SourceClaims   Source = "claims"
)

// Sources lists every case source.
var Sources = []Source{SourceReferral, SourceADT, SourceClaims}

// ClosureReason says why a case was closed.
type ClosureReason string

// Closure reasons.
const (
	ClosureGoalsMet         ClosureReason = "goals-met"
	ClosureConsentWithdrawn ClosureReason = "consent-withdrawn"
	ClosureTransferred      ClosureReason = "transferred"
	ClosureIneligible       ClosureReason = "ineligible"
	ClosureLostToContact    ClosureReason = "lost-to-contact"
	ClosureDeceased         ClosureReason = "deceased"
)

// ClosureReasons lists every closure reason.
var ClosureReasons = []ClosureReason{ClosureGoalsMet, ClosureConsentWithdrawn, ClosureTransferred,
	ClosureIneligible, ClosureLostToContact, ClosureDeceased}

// TransitionKind is the kind of move between levels of care.
type TransitionKind string

// Transition kinds.
const (
	TransitionDischarge   TransitionKind = "discharge"
	TransitionTransfer    TransitionKind = "transfer"
	TransitionLevelChange TransitionKind = "level-change"
	// TransitionReadmission is a return to hospital: the case goes back to
	// transition handling until the next discharge.
	TransitionReadmission TransitionKind = "readmission"
)

// TransitionKinds lists every transition kind.
var TransitionKinds = []TransitionKind{TransitionDischarge, TransitionTransfer, TransitionLevelChange, TransitionReadmission}

// ContactParty is who a contact was made with.
type ContactParty string

// Contact parties.
const (
	PartyClient   ContactParty = "client"
	PartyFamily   ContactParty = "family"
	PartyProvider ContactParty = "provider"
)

// ContactParties lists every contact party.
var ContactParties = []ContactParty{PartyClient, PartyFamily, PartyProvider}

// Housing is the client's housing status.
type Housing string

// Housing statuses.
const (
	HousingStable   Housing = "stable"
	HousingUnstable Housing = "unstable"
	HousingHomeless Housing = "homeless"
)

// HousingStatuses lists every housing status.
var HousingStatuses = []Housing{HousingStable, HousingUnstable, HousingHomeless}

// Readiness is the client's readiness to change (transtheoretical stages).
type Readiness string

// Readiness stages.
const (
	ReadinessPrecontemplation Readiness = "precontemplation"
	ReadinessContemplation    Readiness = "contemplation"
	ReadinessPreparation      Readiness = "preparation"
	ReadinessAction           Readiness = "action"
	ReadinessMaintenance      Readiness = "maintenance"
)

// ReadinessStages lists every readiness stage.
var ReadinessStages = []Readiness{ReadinessPrecontemplation, ReadinessContemplation,
	ReadinessPreparation, ReadinessAction, ReadinessMaintenance}

// SupportNetwork is the strength of the client's psychosocial support network.
type SupportNetwork string

// Support network strengths.
const (
	SupportNone    SupportNetwork = "none"
	SupportLimited SupportNetwork = "limited"
	SupportStrong  SupportNetwork = "strong"
)

// SupportNetworks lists every support network strength.
var SupportNetworks = []SupportNetwork{SupportNone, SupportLimited, SupportStrong}

// ParseEnum checks that value is one of allowed and returns it typed. field is
// the name staff used (a flag or JSON field) so the error can name it.
func ParseEnum[T ~string](field, value string, allowed []T) (T, error) {
	for _, a := range allowed {
		if string(a) == value {
			return a, nil
		}
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	if value == "" {
		return "", Invalidf(field, "is required; use one of %s", strings.Join(names, ", "))
	}
	return "", Invalidf(field, "unknown value %q; use one of %s", value, strings.Join(names, ", "))
}

// validEnum reports an error when value is set but not one of allowed.
func validEnum[T ~string](field string, value T, allowed []T) error {
	if slices.Contains(allowed, value) {
		return nil
	}
	_, err := ParseEnum(field, string(value), allowed)
	return err
}

// ValidationError is bad input from staff or an external system. It names the
// field and says how to fix it.
type ValidationError struct {
	Field   string
	Problem string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%s: %s", e.Field, e.Problem)
}

// Invalidf returns a ValidationError for field.
func Invalidf(field, format string, args ...any) error {
	return &ValidationError{Field: field, Problem: fmt.Sprintf(format, args...)}
}
