package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"corridor"
	"corridor/app"
	"corridor/client"
	"corridor/report"
	"corridor/store"
)

func init() {
	commands["status"] = command{"daily route status, blockades, claims and aid held, from the records", cmdStatus}
	commands["export"] = command{"write incidents, convoys, deliveries, claims, status, places, routes or the map to stdout", cmdExport}
}

// source is where status and exports are read from: a data folder's
// projection or a running server.
type source struct {
	data, server string
}

func sourceFlags(fs interface {
	StringVar(*string, string, string, string)
}, s *source) {
	fs.StringVar(&s.data, "data", "", "data folder to read (its projection; a running serve may keep writing)")
	fs.StringVar(&s.server, "server", "", "URL of a corridor server to read instead, such as http://127.0.0.1:8420")
}

func (s source) check() error {
	if (s.data == "") == (s.server == "") {
		return usagef("give one of -data DIR or -server URL")
	}
	if s.server != "" {
		u, err := url.Parse(s.server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("-server %q: want an http(s) URL such as http://127.0.0.1:8420", s.server)
		}
	}
	return nil
}

// open opens the data folder's projection, to read its derived views.
func (s source) open(ctx context.Context) (*store.Store, error) {
	if _, err := app.ReadConfig(s.data); err != nil {
		return nil, err
	}
	return store.Open(ctx, filepath.Join(s.data, app.ProjectionFile))
}

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", stderr)
	var src source
	sourceFlags(fs, &src)
	route := fs.String("route", "", "route id (default: every route)")
	from := fs.String("from", "", "first day YYYY-MM-DD (default: the first day any record bears on a route)")
	to := fs.String("to", "", "last day YYYY-MM-DD (default: the latest day the records name)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := src.check(); err != nil {
		return err
	}
	for _, d := range []struct{ name, v string }{{"from", *from}, {"to", *to}} {
		if d.v != "" {
			if _, err := time.Parse(time.DateOnly, d.v); err != nil {
				return usagef("-%s %q: want a date YYYY-MM-DD", d.name, d.v)
			}
		}
	}
	var (
		reports  []report.RouteReport
		claims   []report.ClaimView
		coverage []report.CoverageReport
	)
	if src.data != "" {
		st, err := src.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		all, err := st.Routes(ctx)
		if err != nil {
			return err
		}
		var routes []string
		for _, r := range all {
			if *route == "" || r.ID == *route {
				routes = append(routes, r.ID)
			}
		}
		if len(routes) == 0 {
			return fmt.Errorf("route %q: %w", *route, store.ErrNotFound)
		}
		for _, id := range routes {
			rep, err := report.RouteStatusOf(ctx, st, id, *from, *to)
			if err != nil {
				return err
			}
			reports = append(reports, rep)
		}
		for p := (store.Page{After: -1, Limit: 1000}); ; {
			page, err := report.ClaimsPage(ctx, st, p)
			if err != nil {
				return err
			}
			claims = append(claims, page...)
			if len(page) < p.Limit {
				break
			}
			p.After = int64(page[len(page)-1].LogIndex)
		}
		places, err := st.Places(ctx)
		if err != nil {
			return err
		}
		for _, p := range places {
			if p.Population > 0 && p.IsSettlement() {
				c, err := report.CoverageOf(ctx, st, p.ID, *from, *to, 0)
				if err != nil {
					return err
				}
				coverage = append(coverage, c)
			}
		}
	} else {
		cl := client.New(src.server)
		var routes struct{ Items []store.RouteRow }
		if err := cl.Get(ctx, "/api/v1/routes", &routes); err != nil {
			return err
		}
		q := url.Values{}
		if *from != "" {
			q.Set("from", *from)
		}
		if *to != "" {
			q.Set("to", *to)
		}
		for _, r := range routes.Items {
			if *route != "" && r.ID != *route {
				continue
			}
			var rep report.RouteReport
			if err := cl.Get(ctx, "/api/v1/routes/"+url.PathEscape(r.ID)+"/status?"+q.Encode(), &rep); err != nil {
				return err
			}
			reports = append(reports, rep)
		}
		if len(reports) == 0 {
			return fmt.Errorf("route %q: %w", *route, store.ErrNotFound)
		}
		var cl2 struct{ Items []report.ClaimView }
		if err := cl.Get(ctx, "/api/v1/claims", &cl2); err != nil {
			return err
		}
		claims = cl2.Items
		var places struct{ Items []store.PlaceRow }
		if err := cl.Get(ctx, "/api/v1/places", &places); err != nil {
			return err
		}
		for _, p := range places.Items {
			if p.Population > 0 && p.IsSettlement() {
				var c report.CoverageReport
				if err := cl.Get(ctx, "/api/v1/settlements/"+url.PathEscape(p.ID)+"/coverage?"+q.Encode(), &c); err != nil {
					return err
				}
				coverage = append(coverage, c)
			}
		}
	}
	report.WriteStatus(stdout, reports, claims, coverage)
	return nil
}

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	var src source
	sourceFlags(fs, &src)
	format := fs.String("format", "csv", "csv (with an HXL hashtag row), json or geojson")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: corridor export KIND -format csv|json|geojson (-data DIR | -server URL)\nKIND is one of %s\n", strings.Join(report.ExportKinds, ", "))
		fs.PrintDefaults()
	}
	var kind string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		kind, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	rest := fs.Args()
	if kind == "" && len(rest) > 0 {
		kind, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", strings.Join(rest, " "))
	}
	if kind == "" {
		return usagef("name what to export: one of %s", strings.Join(report.ExportKinds, ", "))
	}
	if err := src.check(); err != nil {
		return err
	}
	if err := report.CheckExport(kind, *format); err != nil {
		var de *corridor.Error
		if errors.As(err, &de) {
			return usagef("%s: %s", de.Field, de.Reason)
		}
		return err
	}
	if src.data != "" {
		st, err := src.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		return report.Export(ctx, st, stdout, kind, *format)
	}
	return fetchExport(ctx, src.server, kind, *format, stdout)
}

// fetchExport copies a server's export to w.
func fetchExport(ctx context.Context, base, kind, format string, w io.Writer) error {
	u := strings.TrimRight(base, "/") + "/api/v1/exports/" + url.PathEscape(kind) + "?format=" + url.QueryEscape(format)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var p client.ProblemError
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(body, &p.Problem) != nil || p.Status == 0 {
			return fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		return &p
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
