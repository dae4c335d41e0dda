package report

import (
	"slices"

	"corridor"
	"corridor/store"
)

// Queue sorts the convoys on a checkpoint's route: those at the checkpoint
// or held there, and those approaching it (departed or moving on, with it
// the first checkpoint on their own way, in route order, that they have
// not passed). cps are the route's checkpoints.
func Queue(checkpoint string, route *corridor.Route, cps []store.CheckpointRow, convoys []store.ConvoyRow) (at, approaching []store.ConvoyRow) {
	all := make([]*corridor.Checkpoint, len(cps))
	for i := range cps {
		all[i] = &cps[i].Checkpoint
	}
	for _, c := range convoys {
		switch corridor.ConvoyStatus(c.Status) {
		case corridor.StatusAtCheckpt, corridor.StatusHeld:
			if c.Checkpoint == checkpoint {
				at = append(at, c)
			}
		case corridor.StatusDeparted, corridor.StatusEnRoute:
			for _, x := range corridor.SegmentCheckpoints(route, all, c.Origin, c.Destination) {
				if !slices.Contains(c.Progress.Passed, x.ID) {
					if x.ID == checkpoint {
						approaching = append(approaching, c)
					}
					break
				}
			}
		}
	}
	return at, approaching
}
