package corridor

import (
	"fmt"
	"slices"
	"sort"
)

// The road network is made of the routes: each pair of places next to
// each other on a route is a road segment between them, and routes that
// share a place meet there. A route is a named way through the network; a
// convoy's way is any connected path of segments, which may follow parts
// of several routes. A checkpoint sits at a place and serves every way
// through that place, whichever route it was registered on.

// Joins reports whether route has a segment between places a and b (in
// either direction: a road can be driven both ways).
func (r *Route) Joins(a, b string) bool {
	i := slices.Index(r.Places, a)
	if i < 0 {
		return false
	}
	return (i+1 < len(r.Places) && r.Places[i+1] == b) || (i > 0 && r.Places[i-1] == b)
}

// Passes reports whether route passes through place.
func (r *Route) Passes(place string) bool { return slices.Contains(r.Places, place) }

// WayOn is the places the convoy passes through, in order: its own way if
// it gives one, else route's places from its origin to its destination.
func (c *Convoy) WayOn(route *Route) []string {
	if len(c.Way) > 0 {
		return c.Way
	}
	if route == nil {
		return []string{c.Origin, c.Destination}
	}
	from, to := slices.Index(route.Places, c.Origin), slices.Index(route.Places, c.Destination)
	if from < 0 || to < from {
		return []string{c.Origin, c.Destination}
	}
	return route.Places[from : to+1]
}

// WayRoutes lists, sorted by id, the routes of those given that share a
// segment with way: the routes the way follows part of.
func WayRoutes(way []string, routes []*Route) []*Route {
	var out []*Route
	for _, r := range routes {
		for i := 1; i < len(way); i++ {
			if r.Joins(way[i-1], way[i]) {
				out = append(out, r)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// RoutesThrough lists, sorted, the ids of the routes of those given that
// pass through place.
func RoutesThrough(place string, routes []*Route) []string {
	var out []string
	for _, r := range routes {
		if r.Passes(place) {
			out = append(out, r.ID)
		}
	}
	slices.Sort(out)
	return out
}

// WayCheckpoints lists the checkpoints of those given that sit at a place
// of way, in the order the way meets them (by id at one place).
func WayCheckpoints(way []string, cps []*Checkpoint) []*Checkpoint {
	var out []*Checkpoint
	for _, c := range cps {
		if slices.Contains(way, c.Place) {
			out = append(out, c)
		}
	}
	pos := func(c *Checkpoint) int { return slices.Index(way, c.Place) }
	sort.Slice(out, func(i, j int) bool {
		if pos(out[i]) != pos(out[j]) {
			return pos(out[i]) < pos(out[j])
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// checkWay checks a convoy's way against the network: each step is a
// segment of a registered route, and the way follows part of the route
// the convoy is filed under.
func checkWay(c *Convoy, routes []*Route) error {
	for i := 1; i < len(c.Way); i++ {
		a, b := c.Way[i-1], c.Way[i]
		if !slices.ContainsFunc(routes, func(r *Route) bool { return r.Joins(a, b) }) {
			return invalid(fmt.Sprintf("way[%d]", i), "places %q and %q are not next to each other on any registered route: a way is a connected path of road segments", a, b)
		}
	}
	if !slices.ContainsFunc(WayRoutes(c.Way, routes), func(r *Route) bool { return r.ID == c.Route }) {
		return invalid("way", "follows no part of route %q, which the convoy is filed under", c.Route)
	}
	return nil
}

// routeIDs lists the ids of routes, in their order.
func routeIDs(routes []*Route) []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = r.ID
	}
	return out
}

// Routes lists, of the network's routes, those the convoy's way follows
// part of, by id; none if its own route is not among them.
func (c *Convoy) Routes(network []*Route) []*Route {
	i := slices.IndexFunc(network, func(r *Route) bool { return r.ID == c.Route })
	if i < 0 {
		return nil
	}
	return WayRoutes(c.WayOn(network[i]), network)
}

// convoyRoutes is where a convoy's evidence goes: the routes its way
// follows, or its own route when the network is not known.
func convoyRoutes(c *Convoy, routes []*Route) []string {
	if rs := c.Routes(routes); len(rs) > 0 {
		return routeIDs(rs)
	}
	return []string{c.Route}
}

// onward is where the evidence of a convoy's event at a checkpoint goes:
// the routes of its way's segment on from the checkpoint's place (the
// segment into it, at the end of the way), the direction the convoy was
// let through or stopped in; its own route when none is known.
func onward(c *Convoy, place string, routes []*Route) []string {
	var own *Route
	if i := slices.IndexFunc(routes, func(r *Route) bool { return r.ID == c.Route }); i >= 0 {
		own = routes[i]
	}
	way := c.WayOn(own)
	i := slices.Index(way, place)
	if own == nil || i < 0 {
		return []string{c.Route}
	}
	a, b := place, ""
	if i+1 < len(way) {
		b = way[i+1]
	} else if i > 0 {
		b = way[i-1]
	}
	var out []string
	for _, r := range routes {
		if r.Joins(a, b) {
			out = append(out, r.ID)
		}
	}
	if len(out) == 0 {
		return []string{c.Route}
	}
	slices.Sort(out)
	return out
}

// atCheckpoint is where evidence at a checkpoint goes: the routes of
// those given that pass through its place; its own route when none does.
func atCheckpoint(cp *Checkpoint, routes []*Route) []string {
	if out := RoutesThrough(cp.Place, routes); len(out) > 0 {
		return out
	}
	if cp.Route != "" {
		return []string{cp.Route}
	}
	return nil
}
