// Command borders cuts country borders and coastlines out of Natural
// Earth (public domain; the world-atlas npm package ships it as TopoJSON)
// for the area a scenario's places cover, and writes them as a small JSON
// file with its provenance, which the web map embeds (web/geo/):
//
//	npm pack world-atlas@2 && tar xzf world-atlas-2.0.2.tgz
//	go run ./scripts/borders -topo package/countries-10m.json \
//	    -source "Natural Earth 1:10m countries, world-atlas 2.0.2" \
//	    -scenario scenario/lachin-2023.json -out web/geo/lachin-2023.json
//
// Each TopoJSON arc (a stretch of border shared by two countries, or a
// coast) that comes within the area is kept once, as a line, with the
// names of the countries on its sides.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"

	"corridor"
	"corridor/scenario"
)

type topology struct {
	Transform *struct {
		Scale     [2]float64 `json:"scale"`
		Translate [2]float64 `json:"translate"`
	} `json:"transform"`
	Arcs    [][][2]float64 `json:"arcs"`
	Objects map[string]struct {
		Geometries []struct {
			Type       string          `json:"type"`
			Arcs       json.RawMessage `json:"arcs"`
			ID         string          `json:"id"`
			Properties struct {
				Name string `json:"name"`
			} `json:"properties"`
		} `json:"geometries"`
	} `json:"objects"`
}

// Line is one stretch of border or coast, in [longitude, latitude].
type Line struct {
	Between []string     `json:"between"` // the countries on its sides (one for a coast)
	Points  [][2]float64 `json:"points"`
}

// Borders is the file the web map reads.
type Borders struct {
	Source string     `json:"source"`
	Note   string     `json:"note"`
	BBox   [4]float64 `json:"bbox"` // west, south, east, north
	Lines  []Line     `json:"lines"`
}

func main() {
	topo := flag.String("topo", "", "Natural Earth countries as TopoJSON (world-atlas countries-10m.json)")
	source := flag.String("source", "", "where the TopoJSON comes from, for the file's provenance")
	sc := flag.String("scenario", "", "the scenario whose places give the area")
	out := flag.String("out", "", "the file to write")
	margin := flag.Float64("margin", 0.35, "added around the places' extent, as a share of it")
	flag.Parse()
	if *topo == "" || *sc == "" || *out == "" || *source == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*topo, *source, *sc, *out, *margin); err != nil {
		fmt.Fprintln(os.Stderr, "borders:", err)
		os.Exit(1)
	}
}

func run(topoPath, source, scPath, outPath string, margin float64) error {
	b, err := os.ReadFile(scPath)
	if err != nil {
		return err
	}
	s, err := scenario.Parse(b)
	if err != nil {
		return err
	}
	w, so, e, n := 180.0, 90.0, -180.0, -90.0
	for _, r := range s.Records {
		if r.Type != corridor.TypePlace {
			continue
		}
		var p corridor.Place
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			return err
		}
		w, e, so, n = math.Min(w, p.Lon), math.Max(e, p.Lon), math.Min(so, p.Lat), math.Max(n, p.Lat)
	}
	if w > e {
		return fmt.Errorf("%s: no places", scPath)
	}
	dx, dy := math.Max((e-w)*margin, 0.2), math.Max((n-so)*margin, 0.2)
	box := [4]float64{w - dx, so - dy, e + dx, n + dy}

	tb, err := os.ReadFile(topoPath)
	if err != nil {
		return err
	}
	var t topology
	if err := json.Unmarshal(tb, &t); err != nil {
		return fmt.Errorf("%s: %w", topoPath, err)
	}
	// Decode every arc (delta-encoded, quantized) to longitude, latitude.
	arcs := make([][][2]float64, len(t.Arcs))
	for i, a := range t.Arcs {
		var x, y float64
		for _, p := range a {
			if t.Transform != nil {
				x, y = x+p[0], y+p[1]
				arcs[i] = append(arcs[i], [2]float64{x*t.Transform.Scale[0] + t.Transform.Translate[0], y*t.Transform.Scale[1] + t.Transform.Translate[1]})
			} else {
				arcs[i] = append(arcs[i], p)
			}
		}
	}
	// Which countries each arc bounds.
	sides := map[int][]string{}
	for _, o := range t.Objects {
		for _, g := range o.Geometries {
			var idx []int
			collect(g.Arcs, &idx)
			for _, i := range idx {
				if i < 0 {
					i = ^i
				}
				if i < len(arcs) {
					sides[i] = appendNew(sides[i], g.Properties.Name)
				}
			}
		}
	}
	tol := math.Max(box[2]-box[0], box[3]-box[1]) / 600
	inside := func(p [2]float64) bool { return p[0] >= box[0] && p[0] <= box[2] && p[1] >= box[1] && p[1] <= box[3] }
	res := Borders{Source: source, BBox: box,
		Note: "Country borders and coastlines from Natural Earth (public domain, naturalearthdata.com), cut to the area of the scenario's places by scripts/borders; drawn as Natural Earth has them, which is not a view on any border."}
	for i, a := range arcs {
		// Runs of points within the area, each with one point beyond it on
		// either side so that lines reach the edge (the map clips them).
		var run [][2]float64
		flush := func() {
			if len(run) > 1 {
				res.Lines = append(res.Lines, Line{Between: sides[i], Points: run})
			}
			run = nil
		}
		for j, p := range a {
			in := inside(p)
			next := j+1 < len(a) && inside(a[j+1])
			prev := j > 0 && inside(a[j-1])
			if in || next || prev {
				q := [2]float64{round(p[0]), round(p[1])}
				// Points closer than a 600th of the area to the last kept
				// add nothing the map can show.
				if k := len(run); k > 0 && j+1 < len(a) && math.Hypot(q[0]-run[k-1][0], q[1]-run[k-1][1]) < tol {
					continue
				}
				run = append(run, q)
			} else {
				flush()
			}
		}
		flush()
	}
	body, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	fmt.Printf("borders: %d lines within %.2f,%.2f,%.2f,%.2f\n", len(res.Lines), box[0], box[1], box[2], box[3])
	return os.WriteFile(outPath, append(body, '\n'), 0o644)
}

// collect gathers the arc indexes of a geometry's nested arrays.
func collect(raw json.RawMessage, out *[]int) {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		*out = append(*out, n)
		return
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for _, x := range list {
			collect(x, out)
		}
	}
}

func appendNew(l []string, v string) []string {
	if v == "" {
		return l
	}
	for _, x := range l {
		if x == v {
			return l
		}
	}
	return append(l, v)
}

func round(f float64) float64 { return math.Round(f*1e4) / 1e4 }
