package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"corridor"
	"corridor/report"
)

// Status styles: colour, and a line dash and fill pattern so that colour is
// never the only signal (the status word is always written too).
type statusStyle struct {
	Colour  string
	Dash    string // stroke-dasharray on the map
	Pattern string // id of the SVG fill pattern in charts
}

var statusStyles = map[string]statusStyle{
	string(corridor.Open):       {"#1b7a3a", "none", "pat-open"},
	string(corridor.Restricted): {"#a85d00", "14 6", "pat-restricted"},
	string(corridor.Blocked):    {"#b3261e", "3 5", "pat-blocked"},
	string(corridor.Unknown):    {"#6b6b6b", "1 7", "pat-unknown"},
}

// StatusColour is the colour of a route status (used in tests too).
func StatusColour(status string) string { return style(status).Colour }

func style(status string) statusStyle {
	if s, ok := statusStyles[status]; ok {
		return s
	}
	return statusStyles[string(corridor.Unknown)]
}

// ---- the map ----

type svgMap struct {
	W, H        int
	Borders     []string // SVG path data of country borders and coasts
	GeoSources  []string // where they come from
	Places      []mapPlace
	Routes      []mapRoute
	Checkpoints []mapCP
	Statuses    []legendItem
}

type legendItem struct {
	Status string
	Style  statusStyle
}

type mapPlace struct {
	placeRow
	X, Y, R float64
	Region  bool
}

type mapRoute struct {
	ID, Letter, Names string
	Cargo, Civilians  string
	Style             statusStyle
	Points            string
	LX, LY            float64
}

type mapCP struct {
	Letter, Names, Authority string
	X, Y                     float64
}

const (
	mapMaxW = 720.0
	mapMaxH = 560.0
	mapPad  = 48.0
)

// drawMap projects the gazetteer onto the plane (equirectangular, scaled by
// the cosine of the mean latitude) and lays out places, routes coloured by
// their cargo status on the as-of day, and checkpoints.
func drawMap(l *lookup, routes []routeSummary) *svgMap {
	m := &svgMap{}
	for _, st := range []corridor.RouteStatus{corridor.Open, corridor.Restricted, corridor.Blocked, corridor.Unknown} {
		m.Statuses = append(m.Statuses, legendItem{Status: string(st), Style: style(string(st))})
	}
	if len(l.d.Places) == 0 {
		m.W, m.H = int(mapMaxW), 120
		return m
	}
	minLat, maxLat, minLon, maxLon := 90.0, -90.0, 180.0, -180.0
	for _, p := range l.d.Places {
		minLat, maxLat = math.Min(minLat, p.Lat), math.Max(maxLat, p.Lat)
		minLon, maxLon = math.Min(minLon, p.Lon), math.Max(maxLon, p.Lon)
	}
	cos := math.Cos((minLat + maxLat) / 2 * math.Pi / 180)
	spanX := math.Max((maxLon-minLon)*cos, 1e-3)
	spanY := math.Max(maxLat-minLat, 1e-3)
	k := math.Min((mapMaxW-2*mapPad)/spanX, (mapMaxH-2*mapPad)/spanY)
	m.W = int(math.Ceil(spanX*k + 2*mapPad + 120)) // room for labels on the right
	m.H = int(math.Ceil(spanY*k + 2*mapPad))
	xy := func(lat, lon float64) (float64, float64) {
		return round1(mapPad + (lon-minLon)*cos*k), round1(mapPad + (maxLat-lat)*k)
	}
	// Borders over the whole drawing, margins included.
	padLon, padLat := mapPad/(cos*k), mapPad/k
	m.Borders, m.GeoSources = drawBorders(minLon-padLon, minLat-padLat, minLon+float64(m.W)/(cos*k), maxLat+padLat, xy)
	for _, p := range l.d.Places {
		x, y := xy(p.Lat, p.Lon)
		mp := mapPlace{placeRow: l.placeRow(p.ID), X: x, Y: y, R: 4}
		switch {
		case p.Kind == "region":
			mp.Region, mp.R = true, 34
		case mp.Settlement || p.Kind == "city":
			mp.R = 6
		}
		m.Places = append(m.Places, mp)
	}
	var cx, cy float64 // the centre of the places, away from which labels go
	for _, p := range m.Places {
		cx += p.X / float64(len(m.Places))
		cy += p.Y / float64(len(m.Places))
	}
	for _, r := range routes {
		rt := l.routes[r.ID]
		var pts []string
		var xs, ys []float64
		for _, id := range rt.Places {
			p, ok := l.places[id]
			if !ok {
				continue
			}
			x, y := xy(p.Lat, p.Lon)
			xs, ys = append(xs, x), append(ys, y)
			pts = append(pts, ftoa(x)+","+ftoa(y))
		}
		mr := mapRoute{ID: r.ID, Letter: r.Letter, Names: r.Names, Cargo: r.Cargo(), Civilians: r.Civilians(), Style: style(r.Cargo()), Points: strings.Join(pts, " ")}
		mr.LX, mr.LY = midpoint(xs, ys, cx, cy)
		m.Routes = append(m.Routes, mr)
	}
	for _, c := range l.d.Checkpoints {
		p, ok := l.places[c.Place]
		if !ok {
			continue
		}
		x, y := xy(p.Lat, p.Lon)
		m.Checkpoints = append(m.Checkpoints, mapCP{Letter: l.letter["cp:"+c.ID], Names: report.AllNames(c.Names), Authority: l.operatorNames(c.Checkpoint), X: x, Y: y})
	}
	return m
}

// midpoint is the point halfway along a polyline, moved off the line on
// the side away from (cx, cy).
func midpoint(xs, ys []float64, cx, cy float64) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	total := 0.0
	for i := 1; i < len(xs); i++ {
		total += math.Hypot(xs[i]-xs[i-1], ys[i]-ys[i-1])
	}
	half := total / 2
	for i := 1; i < len(xs); i++ {
		seg := math.Hypot(xs[i]-xs[i-1], ys[i]-ys[i-1])
		if seg >= half && seg > 0 {
			t := half / seg
			x, y := xs[i-1]+t*(xs[i]-xs[i-1]), ys[i-1]+t*(ys[i]-ys[i-1])
			// offset perpendicular to the segment
			nx, ny := -(ys[i]-ys[i-1])/seg, (xs[i]-xs[i-1])/seg
			if nx*(x-cx)+ny*(y-cy) < 0 {
				nx, ny = -nx, -ny
			}
			dx := 22 * nx
			if nx < 0 {
				dx -= 90 // the label's own width, roughly: it starts at x
			}
			return round1(x + dx), round1(y + 22*ny + 5)
		}
		half -= seg
	}
	return xs[0], ys[0]
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
func ftoa(f float64) string    { return strconv.FormatFloat(f, 'f', -1, 64) }

// ---- the daily status chart of a route ----

type statusChart struct {
	W, H   int
	Rows   []chartRow
	Ticks  []tick
	Legend []legendItem
}

type chartRow struct {
	Traffic string
	Y       float64
	Segs    []seg
	Marks   []mark // the records that decide its days
}

// mark is a record that decides a day's status, drawn where it first
// does, linked to the record.
type mark struct {
	X     float64
	Index uint64
	Date  string
}

// maxMarks bounds the markers of one row: beyond them the bands say it.
const maxMarks = 60

type seg struct {
	X, W     float64
	From, To string
	Days     int
	Status   string
	Style    statusStyle
}

type tick struct {
	X     float64
	Label string
}

const (
	chartLeft  = 150.0
	chartWidth = 560.0
	rowHeight  = 28.0
)

// drawStatusChart draws each kind of traffic's daily status as a band of
// runs of days with the same status.
func drawStatusChart(L *Locale, rep report.RouteReport) statusChart {
	c := statusChart{W: int(chartLeft + chartWidth + 10)}
	for _, st := range []corridor.RouteStatus{corridor.Open, corridor.Restricted, corridor.Blocked, corridor.Unknown} {
		c.Legend = append(c.Legend, legendItem{Status: string(st), Style: style(string(st))})
	}
	n := corridor.DaysBetween(rep.From, rep.To)
	if n == 0 {
		c.H = 40
		return c
	}
	day := chartWidth / float64(n)
	for ri, t := range rep.Traffic {
		row := chartRow{Traffic: t.Traffic, Y: 10 + float64(ri)*(rowHeight+12)}
		for i := 0; i < len(t.Days); {
			j := i
			for j+1 < len(t.Days) && t.Days[j+1].Status == t.Days[i].Status {
				j++
			}
			st := string(t.Days[i].Status)
			row.Segs = append(row.Segs, seg{X: round1(chartLeft + float64(i)*day), W: math.Max(round1(float64(j-i+1)*day), 0.5),
				From: string(t.Days[i].Date), To: string(t.Days[j].Date), Days: j - i + 1, Status: st, Style: style(st)})
			i = j + 1
		}
		seen := map[uint64]bool{}
		for i, d := range t.Days {
			for _, idx := range d.Records {
				if !seen[idx] && len(row.Marks) < maxMarks {
					seen[idx] = true
					row.Marks = append(row.Marks, mark{X: round1(chartLeft + (float64(i)+0.5)*day), Index: idx, Date: string(d.Date)})
				}
			}
		}
		c.Rows = append(c.Rows, row)
	}
	c.H = int(10 + float64(len(rep.Traffic))*(rowHeight+12) + 24)
	start, _ := rep.From.Time()
	end, _ := rep.To.Time()
	step := 1
	if months := int(end.Sub(start).Hours() / 24 / 30); months > 8 {
		step = (months + 7) / 8
	}
	first := true
	for m := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(end); m = m.AddDate(0, step, 0) {
		if m.Before(start) {
			continue
		}
		d := corridor.Date(m.Format(time.DateOnly))
		x := chartLeft + float64(corridor.DaysBetween(rep.From, d)-1)*day
		label := L.T("month." + strconv.Itoa(int(m.Month())))
		if first || m.Month() == time.January {
			label += " " + strconv.Itoa(m.Year())
		}
		first = false
		c.Ticks = append(c.Ticks, tick{X: round1(x), Label: label})
	}
	return c
}

// ---- need against aid, per week ----

type coverageChart struct {
	W, H     int
	Top      float64 // the share of need at the top of the axis
	Bars     []coverageBar
	Gridline []gridline
	Need     float64 // y of the 100 % line
}

type coverageBar struct {
	X, W       float64
	Label      string // the week's first day
	Parts      []barPart
	Title      string
	ShortLabel string
}

type barPart struct {
	Outcome string
	Y, H    float64
	Share   float64
}

type gridline struct {
	Y     float64
	Label string
}

const (
	covLeft   = 56.0
	covWidth  = 640.0
	covHeight = 200.0
	covTop    = 12.0
)

// drawCoverageChart draws, for each week, the person-days delivered, held
// and refused as a share of the week's need (need = 100 %).
func drawCoverageChart(L *Locale, c report.CoverageReport) *coverageChart {
	ch := &coverageChart{W: int(covLeft + covWidth + 10), H: int(covTop + covHeight + 40), Top: 1}
	for _, w := range c.Weeks {
		if w.NeedPD > 0 {
			ch.Top = math.Max(ch.Top, (w.DeliveredPD+w.HeldPD+w.RefusedPD)/w.NeedPD)
		}
	}
	ch.Top = math.Ceil(ch.Top*4) / 4
	y := func(share float64) float64 { return round1(covTop + covHeight - share/ch.Top*covHeight) }
	ch.Need = y(1)
	for s := 0.0; s <= ch.Top+1e-9; s += 0.25 {
		ch.Gridline = append(ch.Gridline, gridline{Y: y(s), Label: L.Pct(s)})
	}
	n := len(c.Weeks)
	if n == 0 {
		return ch
	}
	slot := covWidth / float64(n)
	every := int(math.Ceil(float64(n) / 8))
	for i, w := range c.Weeks {
		b := coverageBar{X: round1(covLeft + float64(i)*slot + slot*0.15), W: math.Max(round1(slot*0.7), 1), Label: string(w.Start)}
		if i%every == 0 {
			b.ShortLabel = L.Date(w.Start)
		}
		base := 0.0
		for _, part := range []struct {
			outcome string
			pd      float64
		}{{corridor.OutcomeDelivered, w.DeliveredPD}, {corridor.OutcomeHeld, w.HeldPD}, {corridor.OutcomeRefused, w.RefusedPD}} {
			if part.pd <= 0 || w.NeedPD <= 0 {
				continue
			}
			share := part.pd / w.NeedPD
			top, bottom := y(base+share), y(base)
			b.Parts = append(b.Parts, barPart{Outcome: part.outcome, Y: top, H: math.Max(round1(bottom-top), 1), Share: share})
			base += share
		}
		b.Title = fmt.Sprintf("%s – %s", L.Date(w.Start), L.Date(w.End))
		ch.Bars = append(ch.Bars, b)
	}
	return ch
}

// ---- a convoy's stages ----

type stageChart struct {
	W, H  int
	Axis  float64 // y of the time axis
	Right float64 // x of its end
	Marks []stageMark
	Gaps  []stageGap
}

type stageMark struct {
	X, LabelY float64
	Anchor    string // of the label: start, middle or end, so that none is cut at the edges
	What      string
	Label     string // the event, in the reader's language
	When      string
	Index     uint64 // the record's log index: the history item it links to
	Stopped   bool   // held, refused or turned back
}

type stageGap struct {
	X, Y  float64 // where the days between two steps are written
	Label string
}

const (
	stageLeft  = 20.0
	stageWidth = 440.0
)

// drawStages puts a convoy's timed steps (filing has no time) on one time
// axis, each a mark linked to its record in the history, with the days
// between one step and the next; nil with fewer than two.
func drawStages(L *Locale, steps []historyStep) *stageChart {
	type timed struct {
		h historyStep
		t time.Time
	}
	var ts []timed
	for _, h := range steps {
		if t, err := time.Parse(time.RFC3339, h.At); err == nil {
			ts = append(ts, timed{h, t})
		}
	}
	if len(ts) < 2 {
		return nil
	}
	span := ts[len(ts)-1].t.Sub(ts[0].t)
	if span < time.Hour {
		span = time.Hour
	}
	c := &stageChart{W: int(stageLeft*2 + stageWidth), H: 96, Axis: 48, Right: stageLeft + stageWidth}
	x := func(t time.Time) float64 { return round1(stageLeft + float64(t.Sub(ts[0].t))/float64(span)*stageWidth) }
	for i, s := range ts {
		m := stageMark{X: x(s.t), LabelY: 30, What: s.h.What, Label: L.K("event", s.h.What), When: L.Time(s.h.At), Index: s.h.LogIndex,
			Stopped: s.h.What == corridor.EvHeld || s.h.What == corridor.EvRefused || s.h.What == corridor.EvTurnedBack}
		switch i {
		case 0:
			m.Anchor = "start"
		case len(ts) - 1:
			m.Anchor = "end"
		default:
			m.Anchor = "middle"
		}
		if i%2 == 1 {
			m.LabelY = 74 // below the axis, so that neighbours do not overlap
		}
		c.Marks = append(c.Marks, m)
		if i > 0 {
			prev := ts[i-1].t
			days := s.t.Sub(prev).Hours() / 24
			label := L.T("convoy.stage_days", L.Num(days, 1))
			if days < 1 {
				label = L.T("convoy.stage_hours", L.Num(s.t.Sub(prev).Hours(), 0))
			}
			c.Gaps = append(c.Gaps, stageGap{X: round1((x(prev) + m.X) / 2), Y: 62, Label: label})
		}
	}
	return c
}
