package api

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// servedRoutes reads this package's source for every mux.Handle pattern
// ("GET /api/v1/convoys/{id}"), so that no route can be added without the
// test seeing it.
func servedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			p, _ := strconv.Unquote(lit.Value)
			if !strings.Contains(p, " ") {
				// A pattern with no method is the catch-all that answers
				// unknown paths and methods with a problem: not a route.
				return true
			}
			out[normalise(p)] = true
			return true
		})
	}
	return out
}

var wildcard = regexp.MustCompile(`\{([a-zA-Z_]+)(\.\.\.)?\}`)

// normalise writes a route as "METHOD /path/{}" so that wildcard names and
// the ServeMux "..." suffix do not matter.
func normalise(pattern string) string {
	return wildcard.ReplaceAllString(strings.ReplaceAll(pattern, "{$}", ""), "{}")
}

func documentedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	out := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "post", "put", "delete", "patch", "head":
				out[normalise(strings.ToUpper(method)+" "+path)] = true
			}
		}
	}
	return out
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	served, documented := servedRoutes(t), documentedRoutes(t)
	if len(served) < 10 {
		t.Fatalf("found only %d served routes in the source: the scan is broken", len(served))
	}
	var missing, extra []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, r := range missing {
		t.Errorf("served but not documented in openapi.json: %s", r)
	}
	for _, r := range extra {
		t.Errorf("documented in openapi.json but not served: %s", r)
	}
}

func TestOpenAPIIsVersion31(t *testing.T) {
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
}

// TestServedOpenAPIIsTheDocument: what /api/v1/openapi.json serves is the
// file that the lint in .ci/run checks.
func TestServedOpenAPIIsTheDocument(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := (&Server{}).openapi(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil)); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Body.Bytes(), file) {
		t.Error("the served OpenAPI document differs from api/openapi.json")
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}
