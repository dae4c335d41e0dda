package audit_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"

	"corridor"
	"corridor/app"
	"corridor/audit"
	"corridor/record"
)

// bigLog is a few windows of the audit's pipeline (testWindow).
const bigLog = 1000

func TestAuditCleanLog(t *testing.T) {
	t.Parallel()
	l := newLog(t, bigLog)
	o := l.options(t, filepath.Join(l.dir, app.LogDir))
	var progress bytes.Buffer
	o.Progress = &progress
	rep := run(t, o)
	if !rep.OK() || rep.Replayed != l.size || rep.TreeSize != l.size {
		t.Fatalf("audit of a clean log: %d problems %v, %d replayed of %d, tree size %d", len(rep.Problems), first(rep.Problems), rep.Replayed, l.size, rep.TreeSize)
	}
	if !strings.Contains(progress.String(), "entries checked and replayed") {
		t.Errorf("progress: %q", progress.String())
	}
	// One goroutine or many, the same outcome.
	o.Progress, o.Verifiers = nil, 1
	one := run(t, o)
	if a, b := summary(rep), summary(one); !reflect.DeepEqual(a, b) {
		t.Errorf("audit on all cores and on one differ:\n%v\n%v", a, b)
	}
}

// summary is what two audits of the same log must agree on.
func summary(r *audit.Report) map[string]any {
	return map[string]any{"origin": r.Origin, "size": r.TreeSize, "root": r.Root, "replayed": r.Replayed,
		"problems": r.Problems, "notes": r.Notes, "compared": r.Compared, "pages": r.Pages}
}

func TestAuditCleanServerThenAlteredRow(t *testing.T) {
	t.Parallel()
	l, node := openLog(t, 2100)
	srv := serve(t, l, node)
	f, err := client.NewHTTPFetcher(mustURL(t, srv.URL+"/log/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := l.options(t, "")
	o.Source, o.API = f, srv.URL
	rep := run(t, o)
	if !rep.OK() || rep.Replayed != l.size {
		t.Fatalf("audit of a clean server: %v, %d replayed of %d", first(rep.Problems), rep.Replayed, l.size)
	}
	for _, p := range []string{"/api/v1/records", "/api/v1/statements", "/api/v1/convoys", "/api/v1/routes/aghdam-khankendi/status"} {
		if !slices.Contains(rep.Compared, p) {
			t.Errorf("%s not compared: %v", p, rep.Compared)
		}
	}
	// 2,145 records and 2,1xx statements: three pages each.
	if min := len(rep.Compared) + 4; rep.Pages < min {
		t.Errorf("%d answers compared, want at least %d (every page of the records and statements)", rep.Pages, min)
	}

	// A row of the third page of records altered behind the server's back.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(l.dir, "projection.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE records SET party = 'somebody-else' WHERE log_index = 2100`); err != nil {
		t.Fatal(err)
	}
	rep = run(t, o)
	want := "GET /api/v1/records?limit=1000&after=1999: items[100].party: the server says \"somebody-else\""
	if len(rep.Problems) != 1 || !strings.HasPrefix(rep.Problems[0].What, want) {
		t.Fatalf("audit of a server with an altered record row: %v, want one problem %q", first(rep.Problems), want)
	}
}

func TestAuditFindsTamperedSignatures(t *testing.T) {
	t.Parallel()
	l := newLog(t, bigLog)
	es := l.entries(t)
	bad := []int64{100, 900} // generated statements: nothing depends on them
	for _, i := range bad {
		rec, err := record.ParseEntry(es[i])
		if err != nil {
			t.Fatal(err)
		}
		rec.Sig[0] ^= 1
		es[i] = entry(t, rec)
	}
	o := l.options(t, l.forge(t, es))
	rep := run(t, o)
	if got := indexed(rep); !slices.Equal(got, bad) || len(rep.Problems) != len(bad) {
		t.Fatalf("problems %v, want one at each of %v", first(rep.Problems), bad)
	}
	for _, p := range rep.Problems {
		if !strings.Contains(p.What, "record refused on replay") || !strings.Contains(p.What, record.ErrBadSignature.Error()) {
			t.Errorf("problem %q does not say the signature is bad", p)
		}
	}
	o.Verifiers = 1
	if a, b := summary(rep), summary(run(t, o)); !reflect.DeepEqual(a, b) {
		t.Errorf("audit on all cores and on one differ:\n%v\n%v", a, b)
	}
}

// TestAuditFindsUnregisteredKeys logs records signed by a key before the
// log registers it, and by a key after its party has replaced it: both
// are refused at their index, whatever keys the log holds elsewhere.
func TestAuditFindsUnregisteredKeys(t *testing.T) {
	t.Parallel()
	l := newLog(t, bigLog)
	es := l.entries(t)
	x, err := record.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	monitor := l.keys["monitor"]
	sign := func(r *record.Record, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return entry(t, r)
	}
	// The monitor's registration, to register it again with other keys.
	var party *corridor.Party
	for _, e := range es {
		rec, err := record.ParseEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Type == corridor.TypeParty && slices.ContainsFunc(partyOf(t, rec).Keys, func(k corridor.PartyKey) bool { return k.ID == monitor.ID }) {
			party = partyOf(t, rec)
		}
	}
	if party == nil {
		t.Fatal("no registration of the monitor's key in the log")
	}
	withKeys := func(id string, keys ...*record.Key) []byte {
		p := *party
		p.Keys = nil
		for _, k := range keys {
			p.Keys = append(p.Keys, corridor.PartyKey{ID: k.ID, Public: k.Public})
		}
		return sign(record.Sign(l.op, id, corridor.TypeParty, 1, p))
	}

	const early = 300
	es[early] = sign(statement(x, 1_000_000)) // x is registered only later
	es = append(es,
		withKeys("party-monitor-again", monitor, x),
		sign(statement(x, 1_000_001)), // now it is
		withKeys("party-monitor-x-only", x),
		sign(statement(monitor, 1_000_002)), // the monitor's first key no longer is
	)
	late := int64(len(es) - 1)
	rep := run(t, l.options(t, l.forge(t, es)))
	if got, want := indexed(rep), []int64{early, late}; !slices.Equal(got, want) || len(rep.Problems) != len(want) {
		t.Fatalf("problems %v, want one at each of %v", first(rep.Problems), want)
	}
	for _, p := range rep.Problems {
		if !strings.Contains(p.What, "is not registered") {
			t.Errorf("problem %q does not say the key is not registered", p)
		}
	}
	if rep.Replayed != uint64(len(es)-2) {
		t.Errorf("%d records replayed, want %d", rep.Replayed, len(es)-2)
	}
}

func partyOf(t *testing.T, rec *record.Record) *corridor.Party {
	t.Helper()
	var p corridor.Party
	if err := json.Unmarshal(rec.Payload, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// TestAuditFindsFlippedByte changes one byte of one entry in a bundle
// of a local copy: the leaf hash, the record and the root all say so.
func TestAuditFindsFlippedByte(t *testing.T) {
	t.Parallel()
	l := newLog(t, 600)
	const bundle, j = 1, 10
	at := int64(bundle*layout.EntryBundleWidth + j)
	path := filepath.Join(l.dir, app.LogDir, layout.EntriesPath(bundle, 0))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A bundle is each entry's length (2 bytes, big-endian) then the entry.
	off := 0
	for range j {
		off += 2 + (int(b[off])<<8 | int(b[off+1]))
	}
	n := int(b[off])<<8 | int(b[off+1])
	e := b[off+2 : off+2+n]
	k := bytes.Index(e, []byte("road"))
	if k < 0 {
		t.Fatalf("entry %d is not a generated statement: %s", at, e)
	}
	e[k] = 't' // "toad": still JSON, no longer what was signed
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rep := run(t, l.options(t, filepath.Join(l.dir, app.LogDir)))
	var leaf, refused, root bool
	for _, p := range rep.Problems {
		switch {
		case p.Index == at && strings.Contains(p.What, "leaf hash in tile"):
			leaf = true
		case p.Index == at && strings.Contains(p.What, "record refused on replay"):
			refused = true
		case p.Index == -1 && strings.Contains(p.What, "is not the signed root"):
			root = true
		case strings.Contains(p.What, "does not match the hash recomputed from the entries"):
			// an upper tile above the entry, written before the change
		default:
			t.Errorf("unexpected problem: %s", p)
		}
	}
	if !leaf || !refused || !root {
		t.Errorf("problems %v: want the leaf hash and the record at %d, and the root", first(rep.Problems), at)
	}
}

func TestAuditCancelled(t *testing.T) {
	t.Parallel()
	l := newLog(t, 600)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := audit.Run(ctx, l.options(t, filepath.Join(l.dir, app.LogDir))); err == nil {
		t.Fatal("a cancelled audit passed")
	}
}
