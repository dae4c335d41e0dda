package report

import (
	"slices"

	"corridor"
	"corridor/store"
)

// Queue sorts the convoys on a checkpoint's route: those at the checkpoint
// or held there, and those approaching it (departed or moving on, with it
// the first checkpoint in route order they have not passed). order lists
// the route's checkpoints in route order.
func Queue(checkpoint string, order []string, convoys []store.ConvoyRow) (at, approaching []store.ConvoyRow) {
	for _, c := range convoys {
		switch corridor.ConvoyStatus(c.Status) {
		case corridor.StatusAtCheckpt, corridor.StatusHeld:
			if c.Checkpoint == checkpoint {
				at = append(at, c)
			}
		case corridor.StatusDeparted, corridor.StatusEnRoute:
			for _, x := range order {
				if !slices.Contains(c.Progress.Passed, x) {
					if x == checkpoint {
						approaching = append(approaching, c)
					}
					break
				}
			}
		}
	}
	return at, approaching
}
