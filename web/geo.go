package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"strings"
	"sync"
)

// Country borders and coastlines for the map, cut from Natural Earth for
// the area of each shipped scenario by scripts/borders.py. The map draws
// those whose area overlaps its places': data, not code, so a new area
// needs only a new file.
//
//go:embed geo/*.json
var geoFS embed.FS

type borderSet struct {
	Source string     `json:"source"`
	BBox   [4]float64 `json:"bbox"` // west, south, east, north
	Lines  []struct {
		Between []string     `json:"between"`
		Points  [][2]float64 `json:"points"` // longitude, latitude
	} `json:"lines"`
}

var (
	bordersOnce sync.Once
	borderSets  []borderSet
)

func loadBorders() []borderSet {
	bordersOnce.Do(func() {
		files, _ := fs.Glob(geoFS, "geo/*.json")
		for _, f := range files {
			b, err := fs.ReadFile(geoFS, f)
			if err != nil {
				continue
			}
			var s borderSet
			if json.Unmarshal(b, &s) == nil {
				borderSets = append(borderSets, s)
			}
		}
	})
	return borderSets
}

// drawBorders gives the border lines within west..east, south..north as
// SVG path data in the map's plane (xy), and the sources they come from.
func drawBorders(west, south, east, north float64, xy func(lat, lon float64) (float64, float64)) (paths []string, sources []string) {
	for _, s := range loadBorders() {
		if s.BBox[0] > east || s.BBox[2] < west || s.BBox[1] > north || s.BBox[3] < south {
			continue
		}
		used := false
		for _, l := range s.Lines {
			var d strings.Builder
			near := false
			for i, p := range l.Points {
				near = near || (p[0] >= west && p[0] <= east && p[1] >= south && p[1] <= north)
				x, y := xy(p[1], p[0])
				if i == 0 {
					d.WriteString("M")
				} else {
					d.WriteString("L")
				}
				d.WriteString(ftoa(x) + " " + ftoa(y))
			}
			if near {
				paths = append(paths, d.String())
				used = true
			}
		}
		if used {
			sources = append(sources, s.Source)
		}
	}
	return paths, sources
}
