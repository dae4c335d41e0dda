// Package report derives what people read from the projection: summaries,
// route status, coverage and exports. Its words follow only from records.
package report

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"corridor"
	"corridor/store"
)

// AllNames joins every name of a place, route or party in the order the
// gazetteer gives, without repeats: a contested place is never shown by one
// name alone.
func AllNames(names []corridor.Name) string {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		if !seen[n.Name] {
			seen[n.Name] = true
			out = append(out, n.Name)
		}
	}
	return strings.Join(out, " / ")
}

// Summary writes a short plain-text account of the routes, their
// checkpoints and authorities, and each convoy's last known state.
func Summary(ctx context.Context, st *store.Store, w io.Writer) error {
	parties, err := st.Parties(ctx)
	if err != nil {
		return err
	}
	places, err := st.Places(ctx)
	if err != nil {
		return err
	}
	routes, err := st.Routes(ctx)
	if err != nil {
		return err
	}
	cps, err := st.Checkpoints(ctx, "")
	if err != nil {
		return err
	}
	convoys, err := st.Convoys(ctx, store.ConvoyFilter{})
	if err != nil {
		return err
	}
	partyName := map[string]string{}
	for _, p := range parties {
		partyName[p.ID] = p.Names[0].Name
	}
	placeName := map[string]string{}
	for _, p := range places {
		placeName[p.ID] = AllNames(p.Names)
	}
	cpName := map[string]string{}
	for _, c := range cps {
		cpName[c.ID] = c.Names[0].Name
	}
	fmt.Fprintln(w, "Routes")
	for _, r := range routes {
		fmt.Fprintf(w, "  %s [%s]\n", AllNames(r.Names), r.ID)
		var stops []string
		for _, p := range r.Places {
			stops = append(stops, placeName[p])
		}
		fmt.Fprintf(w, "    %s\n", strings.Join(stops, " → "))
		for _, c := range cps {
			if !r.Passes(c.Place) {
				continue
			}
			since := ""
			if c.From != "" {
				since = ", since " + string(c.From)
			}
			for _, ch := range c.Changes {
				if ch.Closed {
					since += fmt.Sprintf("; closed from %s", ch.From)
				} else {
					since += fmt.Sprintf("; run by %s from %s", partyName[ch.Authority], ch.From)
				}
			}
			fmt.Fprintf(w, "    checkpoint %s [%s] at %s, run by %s%s\n", c.Names[0].Name, c.ID, placeName[c.Place], partyName[c.Authority], since)
		}
	}
	fmt.Fprintln(w, "Convoys")
	for _, c := range convoys {
		fmt.Fprintf(w, "  %s [%s]: %d vehicles, %s, %s → %s\n", partyName[c.Organisation], c.ID, len(c.Filing.Vehicles), Tonnes(c.Kg), placeName[c.Origin], placeName[c.Destination])
		fmt.Fprintf(w, "    %s\n", ConvoyState(c, cpName))
	}
	return nil
}

// Tonnes formats a weight in kilograms as tonnes.
func Tonnes(kg float64) string {
	return fmt.Sprintf("%.1f t", kg/1000)
}

// ConvoyState says in plain words where a convoy stands.
func ConvoyState(c store.ConvoyRow, cpName map[string]string) string {
	day := ""
	if t, err := time.Parse(time.RFC3339, c.LastAt); err == nil {
		day = t.Format(time.DateOnly)
	}
	var s string
	switch corridor.ConvoyStatus(c.Status) {
	case corridor.StatusFiled:
		s = "filed, planned for " + c.Planned
	case corridor.StatusHeld:
		s = fmt.Sprintf("held at %s since %s", cpName[c.Checkpoint], day)
	case corridor.StatusRefused:
		s = fmt.Sprintf("refused at %s on %s", cpName[c.Checkpoint], day)
	case corridor.StatusAtCheckpt:
		s = fmt.Sprintf("at %s since %s", cpName[c.Checkpoint], day)
	case corridor.StatusTurnedBack:
		s = fmt.Sprintf("turned back at %s on %s", cpName[c.Checkpoint], day)
	case corridor.StatusEnRoute:
		s = fmt.Sprintf("en route, passed %s on %s", cpName[c.Checkpoint], day)
	default:
		s = fmt.Sprintf("%s on %s", c.Status, day)
	}
	if len(c.Flags) > 0 {
		s += " (" + strings.Join(c.Flags, ", ") + ")"
	}
	return s
}
