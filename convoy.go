package corridor

import (
	"fmt"
	"slices"
	"time"
)

// ConvoyStatus is where a convoy stands in its lifecycle.
type ConvoyStatus string

const (
	StatusFiled      ConvoyStatus = "filed"
	StatusDeparted   ConvoyStatus = "departed"
	StatusAtCheckpt  ConvoyStatus = "at-checkpoint"
	StatusHeld       ConvoyStatus = "held"
	StatusEnRoute    ConvoyStatus = "en-route" // passed a checkpoint, moving on
	StatusRefused    ConvoyStatus = "refused"
	StatusTurnedBack ConvoyStatus = "turned-back"
	StatusDelivered  ConvoyStatus = "delivered"
	StatusReturned   ConvoyStatus = "returned"
	StatusCancelled  ConvoyStatus = "cancelled"
	FlagNoAgreement               = "departed-without-agreement"
	FlagOutOfOrder                = "checkpoint-out-of-route-order"
	FlagConfirmed                 = "delivery-confirmed-by-monitor"
)

// Clearance request states: the three decisions, and two derived ones.
const (
	ClearancePending    = "pending"    // not answered, deadline not passed
	ClearanceUnanswered = "unanswered" // not answered by the deadline
)

// ClearanceState says where one authority's answer stands on day today.
func ClearanceState(ans *ClearanceAnswer, deadline, today Date) string {
	if ans != nil {
		return ans.Decision
	}
	if today > deadline {
		return ClearanceUnanswered
	}
	return ClearancePending
}

// DeliveryConfirm is a monitor's confirmation that a delivery took place.
type DeliveryConfirm struct {
	Convoy string       `json:"convoy"`
	At     time.Time    `json:"at"`
	Note   string       `json:"note,omitempty"`
	Files  []Attachment `json:"files,omitempty"` // evidence files (see Attachment)
}

// Validate checks a confirmation on its own.
func (d *DeliveryConfirm) Validate() error {
	var p problems
	p.add(checkFiles(d.Files))
	p.add(checkID("convoy", d.Convoy))
	p.add(checkAt("at", d.At))
	p.add(checkText("note", d.Note, MaxText, false))
	return p.err()
}

// Decisions an authority can give to a clearance request.
const (
	Approved               = "approved"
	ApprovedWithConditions = "approved-with-conditions"
	Refused                = "refused"
	// Acknowledged: a notified authority has been told of the convoy. It
	// is never counted as an approval.
	Acknowledged = "acknowledged"
)

// ReasonCategories classify refusals, holds and removals.
var ReasonCategories = []string{"no-prior-agreement", "documentation", "security", "inspection", "prohibited-items", "dual-use", "expired-or-damaged", "route-closed", "capacity", "other"}

// Events at a checkpoint, recorded by the authority that runs it.
const (
	EvArrived    = "arrived"
	EvInspected  = "inspected"
	EvPassed     = "passed"
	EvPassedLess = "passed-with-removals"
	EvHeld       = "held"
	EvRefused    = "refused"
	EvTurnedBack = "turned-back"
)

// CheckpointEvents lists the events a checkpoint's authority can record.
var CheckpointEvents = []string{EvArrived, EvInspected, EvPassed, EvPassedLess, EvHeld, EvRefused, EvTurnedBack}

// Movements recorded by the convoy's organisation.
const (
	MvDeparted  = "departed"
	MvDelivered = "delivered"
	MvReturned  = "returned"
	MvCancelled = "cancelled"
)

// ConvoyMoves lists the movements an organisation can record.
var ConvoyMoves = []string{MvDeparted, MvDelivered, MvReturned, MvCancelled}

// ClearanceAnswer is an authority's answer to a convoy's clearance request.
type ClearanceAnswer struct {
	Convoy         string    `json:"convoy"`
	Authority      string    `json:"authority"`
	Decision       string    `json:"decision"`
	Conditions     string    `json:"conditions,omitempty"`
	ReasonCategory string    `json:"reason_category,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	At             time.Time `json:"at"`
}

// LineQty names a quantity of one manifest line (by its position).
type LineQty struct {
	Line     int     `json:"line"`
	Quantity float64 `json:"quantity"`
	Kg       float64 `json:"kg"`
	// For a line taken off at a checkpoint: what was decided of it
	// (removed, the default; refused entry; held at the checkpoint) and
	// why, when it is not (only) the event's reason (a dual-use item, say).
	Decision string `json:"decision,omitempty"`
	// Listed says the item is on the restricted list of the checkpoint's
	// operator in force that day (checked against it).
	Listed         bool   `json:"listed,omitempty"`
	ReasonCategory string `json:"reason_category,omitempty"`
	Reason         string `json:"reason,omitempty"`
}

// Decisions on a manifest line at a checkpoint: taken off (and kept or
// destroyed), refused entry (sent back), or held there pending a decision.
const (
	LineRemoved = "removed"
	LineRefused = "refused"
	LineHeld    = "held"
)

// LineDecisions lists the decisions a checkpoint can make on one line.
var LineDecisions = []string{LineRemoved, LineRefused, LineHeld}

// DecisionOf is what was decided of a line taken off (or named by a
// refusal): removed by default.
func (l LineQty) DecisionOf() string {
	if l.Decision == "" {
		return LineRemoved
	}
	return l.Decision
}

// CheckpointEvent is what happened to a convoy at a checkpoint.
type CheckpointEvent struct {
	Convoy          string       `json:"convoy"`
	Checkpoint      string       `json:"checkpoint"`
	Event           string       `json:"event"`
	At              time.Time    `json:"at"`
	Removed         []LineQty    `json:"removed,omitempty"`
	ReasonCategory  string       `json:"reason_category,omitempty"`
	Reason          string       `json:"reason,omitempty"`
	ExpectedRelease Date         `json:"expected_release,omitempty"`
	OutOfOrder      string       `json:"out_of_order_reason,omitempty"`
	Note            string       `json:"note,omitempty"`
	Files           []Attachment `json:"files,omitempty"` // evidence files (see Attachment)
}

// ConvoyMove is a movement recorded by the convoy's own organisation.
type ConvoyMove struct {
	Convoy   string       `json:"convoy"`
	Event    string       `json:"event"`
	At       time.Time    `json:"at"`
	Received []LineQty    `json:"received,omitempty"` // for delivered
	Note     string       `json:"note,omitempty"`
	Files    []Attachment `json:"files,omitempty"` // evidence files (see Attachment)
}

func checkAt(field string, t time.Time) error {
	if t.IsZero() {
		return invalid(field, "is required (RFC 3339 time)")
	}
	if t.Year() < 1990 || t.Year() > 2100 {
		return invalid(field, "year %d is out of range 1990–2100", t.Year())
	}
	return nil
}

func checkLineQtys(field string, q []LineQty, required, reasons bool) error {
	if len(q) == 0 {
		if required {
			return invalid(field, "at least one line is required")
		}
		return nil
	}
	if len(q) > MaxList {
		return invalid(field, "more than %d lines", MaxList)
	}
	seen := map[int]bool{}
	for i, l := range q {
		f := fmt.Sprintf("%s[%d]", field, i)
		if l.Line < 0 || l.Line >= MaxList {
			return invalid(f+".line", "must be the position of a manifest line")
		}
		if seen[l.Line] {
			return invalid(f+".line", "line %d appears twice", l.Line)
		}
		seen[l.Line] = true
		if err := checkQuantity(f+".quantity", l.Quantity, true); err != nil {
			return err
		}
		if err := checkQuantity(f+".kg", l.Kg, true); err != nil {
			return err
		}
		if !reasons && (l.ReasonCategory != "" || l.Reason != "") {
			return invalid(f+".reason_category", "only a removed line has a reason")
		}
		if !reasons && (l.Decision != "" || l.Listed) {
			return invalid(f+".decision", "only a line taken off at a checkpoint has a decision")
		}
		if l.Decision != "" {
			if err := checkOneOf(f+".decision", l.Decision, LineDecisions); err != nil {
				return err
			}
		}
		if l.ReasonCategory != "" {
			if err := checkOneOf(f+".reason_category", l.ReasonCategory, ReasonCategories); err != nil {
				return err
			}
		}
		if err := checkText(f+".reason", l.Reason, MaxText, false); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a clearance answer on its own.
func (a *ClearanceAnswer) Validate() error {
	if err := checkID("convoy", a.Convoy); err != nil {
		return err
	}
	if err := checkID("authority", a.Authority); err != nil {
		return err
	}
	if err := checkOneOf("decision", a.Decision, []string{Approved, ApprovedWithConditions, Refused, Acknowledged}); err != nil {
		return err
	}
	if err := checkAt("at", a.At); err != nil {
		return err
	}
	if err := checkText("conditions", a.Conditions, MaxText, a.Decision == ApprovedWithConditions); err != nil {
		return err
	}
	if a.Decision == Refused {
		if err := checkOneOf("reason_category", a.ReasonCategory, ReasonCategories); err != nil {
			return err
		}
	}
	return checkText("reason", a.Reason, MaxText, a.Decision == Refused)
}

// Validate checks a checkpoint event on its own.
func (e *CheckpointEvent) Validate() error {
	if err := checkFiles(e.Files); err != nil {
		return err
	}
	if err := checkID("convoy", e.Convoy); err != nil {
		return err
	}
	if err := checkID("checkpoint", e.Checkpoint); err != nil {
		return err
	}
	if err := checkOneOf("event", e.Event, CheckpointEvents); err != nil {
		return err
	}
	if err := checkAt("at", e.At); err != nil {
		return err
	}
	if err := checkLineQtys("removed", e.Removed, e.Event == EvPassedLess, true); err != nil {
		return err
	}
	switch {
	case e.Event == EvRefused:
		// A refusal may name the lines it is about (a dual-use item, say):
		// each is refused, as is the rest of the load.
		for i, l := range e.Removed {
			if l.Decision != LineRefused {
				return invalid(fmt.Sprintf("removed[%d].decision", i), "a line named by a refusal is refused: give decision %q", LineRefused)
			}
		}
	case e.Event != EvPassedLess && len(e.Removed) > 0:
		return invalid("removed", "only a passed-with-removals event removes items, and a refusal names the lines it is about")
	}
	needsReason := e.Event == EvRefused || e.Event == EvPassedLess || e.Event == EvHeld || e.Event == EvTurnedBack
	if needsReason {
		if err := checkOneOf("reason_category", e.ReasonCategory, ReasonCategories); err != nil {
			return err
		}
	}
	if err := checkText("reason", e.Reason, MaxText, e.Event == EvRefused || e.Event == EvPassedLess); err != nil {
		return err
	}
	if err := checkDate("expected_release", e.ExpectedRelease, false); err != nil {
		return err
	}
	if e.ExpectedRelease != "" && e.Event != EvHeld {
		return invalid("expected_release", "only a hold has an expected release")
	}
	if err := checkText("out_of_order_reason", e.OutOfOrder, MaxText, false); err != nil {
		return err
	}
	return checkText("note", e.Note, MaxText, false)
}

// Validate checks a convoy movement on its own.
func (m *ConvoyMove) Validate() error {
	if err := checkFiles(m.Files); err != nil {
		return err
	}
	if err := checkID("convoy", m.Convoy); err != nil {
		return err
	}
	if err := checkOneOf("event", m.Event, ConvoyMoves); err != nil {
		return err
	}
	if err := checkAt("at", m.At); err != nil {
		return err
	}
	if err := checkLineQtys("received", m.Received, m.Event == MvDelivered, false); err != nil {
		return err
	}
	if m.Event != MvDelivered && len(m.Received) > 0 {
		return invalid("received", "only a delivery has quantities received")
	}
	return checkText("note", m.Note, MaxText, false)
}

// ConvoyState is a convoy with everything that has happened to it so far.
type ConvoyState struct {
	Convoy     Convoy
	Index      uint64 // log index of the filing
	Updated    uint64 // log index of the latest record about it
	Status     ConvoyStatus
	Checkpoint string // the checkpoint it is at, or last passed
	LastAt     time.Time
	Flags      []string
	Passed     []string // checkpoints passed, in order
	Removed    []LineQty
	Received   []LineQty
	Clearance  map[string]ClearanceAnswer // by authority
}

func (c *ConvoyState) clone() *ConvoyState {
	n := *c
	n.Flags = slices.Clone(c.Flags)
	n.Passed = slices.Clone(c.Passed)
	n.Removed = slices.Clone(c.Removed)
	n.Received = slices.Clone(c.Received)
	n.Clearance = make(map[string]ClearanceAnswer, len(c.Clearance))
	for k, v := range c.Clearance {
		n.Clearance[k] = v
	}
	return &n
}

// HasFlag reports whether the convoy carries flag.
func (c *ConvoyState) HasFlag(flag string) bool { return slices.Contains(c.Flags, flag) }

func (c *ConvoyState) addFlag(flag string) {
	if !c.HasFlag(flag) {
		c.Flags = append(c.Flags, flag)
	}
}

// removedOf sums what was removed from manifest line i.
func sumLine(q []LineQty, i int) (qty, kg float64) {
	for _, l := range q {
		if l.Line == i {
			qty += l.Quantity
			kg += l.Kg
		}
	}
	return qty, kg
}

// Terminal reports whether no further movement is expected.
func (s ConvoyStatus) Terminal() bool {
	return s == StatusDelivered || s == StatusReturned || s == StatusCancelled
}

// moving reports whether the convoy is on the road between checkpoints.
func (s ConvoyStatus) moving() bool { return s == StatusDeparted || s == StatusEnRoute }
