package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"corridor"
	"corridor/ledger"
	"corridor/record"
	"corridor/store"
)

// ---- a small world of records, made by hand (the scenario package
// imports app) ----

// fixture signs records for a data folder: the operator's key and one key
// per party.
type fixture struct {
	t    testing.TB
	op   *record.Key
	keys map[string]*record.Key
	seq  int
}

func testKey(name string) *record.Key {
	seed := sha256.Sum256([]byte("corridor-app-test\n" + name))
	return record.KeyFromSeed(seed[:])
}

func newFixture(t testing.TB, dir string) *fixture {
	op, err := record.ReadKeyFile(filepath.Join(dir, OperatorKey))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, op: op, keys: map[string]*record.Key{
		"org": testKey("org"), "auth": testKey("auth"), "mon": testKey("mon"),
	}}
}

func (f *fixture) sign(by, typ, id string, payload any) *Submission {
	f.t.Helper()
	k := f.op
	if by != OperatorID {
		k = f.keys[by]
	}
	if id == "" {
		f.seq++
		id = fmt.Sprintf("rec-%d", f.seq)
	}
	r, err := record.Sign(k, id, typ, 1, payload)
	if err != nil {
		f.t.Fatal(err)
	}
	return &Submission{Record: r}
}

func names(n string) []corridor.Name { return []corridor.Name{{Name: n, Lang: "en"}} }

// setup registers the parties, places, a route and a checkpoint.
func (f *fixture) setup() []*Submission {
	var out []*Submission
	for _, p := range []struct {
		id   string
		kind corridor.PartyKind
	}{{"org", corridor.Organisation}, {"auth", corridor.Authority}, {"mon", corridor.Monitor}} {
		k := f.keys[p.id]
		out = append(out, f.sign(OperatorID, corridor.TypeParty, "", &corridor.Party{ID: p.id, Kind: p.kind, Names: names(p.id),
			Keys: []corridor.PartyKey{{ID: k.ID, Public: k.Public}}}))
	}
	for _, p := range []*corridor.Place{
		{ID: "a", Kind: "town", Names: names("A"), Lat: 39.5, Lon: 46.3},
		{ID: "b", Kind: "village", Names: names("B"), Lat: 39.6, Lon: 46.4, Population: 300},
		{ID: "c", Kind: "city", Names: names("C"), Lat: 39.8, Lon: 46.7, Population: 50000},
	} {
		out = append(out, f.sign(OperatorID, corridor.TypePlace, "", p))
	}
	out = append(out, f.sign(OperatorID, corridor.TypeRoute, "", &corridor.Route{ID: "r1", Names: names("R1"), Places: []string{"a", "b", "c"}}))
	out = append(out, f.sign(OperatorID, corridor.TypeCheckpoint, "", &corridor.Checkpoint{ID: "cp1", Names: names("CP1"), Route: "r1", Place: "b", Authority: "auth"}))
	return out
}

var yerevan = time.FixedZone("", 4*3600)

// cycle is the life of convoy n: filed (with personal values), cleared,
// departed, passed, delivered; and a statement.
func (f *fixture) cycle(n int) []*Submission {
	id := fmt.Sprintf("cv-%d", n)
	day := time.Date(2023, 8, 29, 6, 0, 0, 0, yerevan).Add(time.Duration(n) * time.Minute)
	plate, po := record.Seal(fmt.Sprintf("PLATE-%d", n))
	filed := f.sign("org", corridor.TypeConvoy, "", &corridor.Convoy{ID: id, Organisation: "org", Route: "r1", Origin: "a", Destination: "c",
		Planned: "2023-08-29", Vehicles: []corridor.Vehicle{{Kind: "lorry", Plate: plate}},
		Manifest: []corridor.Line{{Item: "flour", Sector: "food", Quantity: 20, Unit: "t", Kg: 20000}}})
	filed.Private = map[string]record.Opening{plate: po}
	return []*Submission{
		filed,
		f.sign("auth", corridor.TypeClearance, "", &corridor.ClearanceAnswer{Convoy: id, Authority: "auth", Decision: corridor.Approved, At: day}),
		f.sign("org", corridor.TypeMove, "", &corridor.ConvoyMove{Convoy: id, Event: corridor.MvDeparted, At: day.Add(time.Hour)}),
		f.sign("auth", corridor.TypeCheckEvent, "", &corridor.CheckpointEvent{Convoy: id, Checkpoint: "cp1", Event: corridor.EvPassed, At: day.Add(2 * time.Hour).UTC()}),
		f.sign("org", corridor.TypeMove, "", &corridor.ConvoyMove{Convoy: id, Event: corridor.MvDelivered, At: day.Add(3 * time.Hour),
			Received: []corridor.LineQty{{Line: 0, Quantity: 20, Kg: 20000}}}),
		f.sign("mon", corridor.TypeStatement, "", &corridor.Statement{ID: fmt.Sprintf("st-%d", n), Kind: "statement", Speaker: "S",
			SaidOn: "2023-08-30", Quote: "Words.", Lang: "en", AboutRoutes: []string{"r1"}}),
	}
}

// monitoring adds an incident, its verification, a claim and a link.
func (f *fixture) monitoring(n int) []*Submission {
	inc := fmt.Sprintf("inc-%d", n)
	claim := fmt.Sprintf("claim-%d", n)
	st := f.sign("mon", corridor.TypeStatement, "", &corridor.Statement{ID: fmt.Sprintf("mst-%d", n), Kind: "statement", Speaker: "S",
		SaidOn: "2023-08-30", Quote: "Open.", Lang: "en"})
	return []*Submission{
		f.sign("mon", corridor.TypeIncident, "", &corridor.Incident{ID: inc, Category: "restriction-of-movement", Occurred: "2023-08-29",
			Reported: "2023-08-30", Route: "r1", Checkpoint: "cp1", Traffic: []string{corridor.Cargo}, Description: "Stopped.", Verification: corridor.Unverified}),
		f.sign("mon", corridor.TypeIncidentVerify, "", &corridor.IncidentVerification{Incident: inc, Verification: corridor.Verified}),
		st,
		f.sign("mon", corridor.TypeClaim, "", &corridor.Claim{ID: claim, Statement: fmt.Sprintf("mst-%d", n),
			Period: &corridor.Period{From: "2023-08-29", To: "2023-08-30"}, Assertion: &corridor.Assertion{Kind: corridor.AssertOpen, Route: "r1", Traffic: corridor.Cargo}}),
		f.sign("mon", corridor.TypeClaimLink, "", &corridor.ClaimLink{Claim: claim, Record: st.Record.ID, Relation: corridor.Contradicts}),
	}
}

// records is setup followed by cycles and monitoring, n cycles in all.
func (f *fixture) records(from, n int) []*Submission {
	var out []*Submission
	if from == 0 {
		out = f.setup()
	}
	for i := from; i < from+n; i++ {
		out = append(out, f.cycle(i)...)
		if i%5 == 0 {
			out = append(out, f.monitoring(i)...)
		}
	}
	return out
}

// ---- nodes ----

// logBuffer collects what a node logs, for tests that read why it did what.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// newFolder makes a data folder holding only the genesis record.
func newFolder(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Init(context.Background(), dir, "corridor.test/log"); err != nil {
		t.Fatal(err)
	}
	return dir
}

func openNode(t testing.TB, dir string, opts NodeOptions) *Node {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	n, err := OpenNode(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func closeNode(t testing.TB, n *Node) {
	t.Helper()
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// submitAll submits subs in batches of at most size records.
func submitAll(t testing.TB, a *App, subs []*Submission, size int) []Result {
	t.Helper()
	var out []Result
	for len(subs) > 0 {
		b := subs[:min(size, len(subs))]
		subs = subs[len(b):]
		res, err := a.Submit(context.Background(), b)
		if err != nil {
			t.Fatalf("submit %s: %v", b[0].Record.ID, err)
		}
		out = append(out, res...)
	}
	return out
}

// rebuilt replays the folder's log into a fresh SQLite projection.
func rebuilt(t testing.TB, dir string) *store.Store {
	t.Helper()
	ctx := context.Background()
	fresh, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fresh.Close() })
	if _, err := replay(ctx, ledger.OpenReader(filepath.Join(dir, LogDir)), fresh, true, nil); err != nil {
		t.Fatal(err)
	}
	return fresh
}

// sameAsRebuild requires the folder's projection to equal a replay of its log.
func sameAsRebuild(t testing.TB, dir string) {
	t.Helper()
	live, err := store.Open(context.Background(), filepath.Join(dir, ProjectionFile))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := compareProjections(context.Background(), live, rebuilt(t, dir)); err != nil {
		t.Fatalf("projection differs from a rebuild: %v", err)
	}
}

// stateDump is a canonical image of a state: its JSON (maps sorted by key)
// and the claims' links, which JSON leaves out.
func stateDump(t testing.TB, st *corridor.State) string {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	links := map[string][]corridor.ClaimLink{}
	for id, c := range st.Claims {
		links[id] = c.Links
	}
	l, _ := json.Marshal(links)
	return string(b) + "\nlinks " + string(l)
}

// replayedState is the state a full replay of the folder's log gives.
func replayedState(t testing.TB, dir string) *corridor.State {
	t.Helper()
	ctx := context.Background()
	st := corridor.NewState()
	err := ledger.OpenReader(filepath.Join(dir, LogDir)).Entries(ctx, 0, logSize(t, dir), func(i uint64, data []byte) error {
		r, err := record.ParseEntry(data)
		if err != nil {
			return err
		}
		_, err = st.Check(r, i, nil, true)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func logSize(t testing.TB, dir string) uint64 {
	t.Helper()
	n, err := ledger.OpenReader(filepath.Join(dir, LogDir)).Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// countingLog counts the appends made to a log.
type countingLog struct {
	Appender
	appends atomic.Int64
	fail    atomic.Bool // when set, Append appends nothing and fails
}

func (c *countingLog) Append(ctx context.Context, entries [][]byte) ([]uint64, error) {
	if c.fail.Load() {
		return nil, errors.New("injected append failure")
	}
	c.appends.Add(1)
	return c.Appender.Append(ctx, entries)
}

// ---- tests ----

func TestManySubmittersFewAppends(t *testing.T) {
	dir := newFolder(t)
	f := newFixture(t, dir)
	n := openNode(t, dir, NodeOptions{})
	submitAll(t, n.App, f.setup(), 100)
	closeNode(t, n)

	// The same folder, with the log behind a counter.
	n = openNode(t, dir, NodeOptions{})
	defer closeNode(t, n)
	cl := &countingLog{Appender: n.Log}
	a, err := New(context.Background(), cl, n.store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	base := a.Size()
	const clients = 64
	var wg sync.WaitGroup
	results := make([][]Result, clients)
	errs := make([]error, clients)
	subs := make([]*Submission, clients)
	for i := range subs {
		subs[i] = f.sign("mon", corridor.TypeStatement, fmt.Sprintf("s-%d", i), &corridor.Statement{ID: fmt.Sprintf("st-%d", i),
			Kind: "statement", Speaker: "S", SaidOn: "2023-08-30", Quote: "Words.", Lang: "en"})
	}
	for i := range clients {
		wg.Go(func() { results[i], errs[i] = a.Submit(context.Background(), subs[i:i+1]) })
	}
	wg.Wait()
	var got []uint64
	for i := range clients {
		if errs[i] != nil {
			t.Fatalf("client %d: %v", i, errs[i])
		}
		if len(results[i]) != 1 || results[i][0].ID != subs[i].Record.ID {
			t.Fatalf("client %d: answer %+v", i, results[i])
		}
		got = append(got, results[i][0].Index)
	}
	slices.Sort(got)
	for i, x := range got {
		if x != base+uint64(i) {
			t.Fatalf("indices %v are not %d.. in a row", got, base)
		}
	}
	if k := cl.appends.Load(); k > clients/4 {
		t.Errorf("%d clients made %d appends: the writer does not group", clients, k)
	} else {
		t.Logf("%d clients, %d appends", clients, k)
	}
	if size := logSize(t, dir); size != base+clients {
		t.Errorf("log holds %d, want %d", size, base+clients)
	}
	// Every answer was given once its record was projected.
	if applied, _ := a.store.Applied(context.Background()); applied != base+clients {
		t.Errorf("projection at %d after every answer, want %d", applied, base+clients)
	}
}

func TestRefusedBatchChangesNothing(t *testing.T) {
	dir := newFolder(t)
	f := newFixture(t, dir)
	n := openNode(t, dir, NodeOptions{})
	defer closeNode(t, n)
	submitAll(t, n.App, f.setup(), 100)
	ctx := context.Background()
	base := n.Size()
	before := lockedDump(t, n.App)
	dump := func() map[string][]string {
		d, err := n.store.Dump(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	proj := dump()

	good := f.cycle(1)[:1]
	bad := f.sign("auth", corridor.TypeCheckEvent, "", &corridor.CheckpointEvent{Convoy: "no-such-convoy", Checkpoint: "cp1",
		Event: corridor.EvArrived, At: time.Date(2023, 8, 29, 6, 0, 0, 0, time.UTC)})
	stmt := f.sign("mon", corridor.TypeStatement, "", &corridor.Statement{ID: "st-x", Kind: "statement", Speaker: "S", SaidOn: "2023-08-30", Quote: "W", Lang: "en"})
	_, err := n.Submit(ctx, []*Submission{good[0], bad, stmt})
	var ce *corridor.Error
	if !errors.As(err, &ce) || !strings.HasPrefix(ce.Field, "records[1]") {
		t.Fatalf("a batch with a bad second record: %v, want an error naming records[1]", err)
	}
	if n.Size() != base || logSize(t, dir) != base {
		t.Fatalf("a refused batch wrote: size %d, log %d, want %d", n.Size(), logSize(t, dir), base)
	}
	if lockedDump(t, n.App) != before {
		t.Fatal("a refused batch changed the state")
	}
	if !equalDumps(dump(), proj) {
		t.Fatal("a refused batch changed the projection")
	}

	// Two bad records: the first is named, however the checks are spread.
	sigBad := f.sign("mon", corridor.TypeStatement, "", &corridor.Statement{ID: "st-y", Kind: "statement", Speaker: "S", SaidOn: "2023-08-30", Quote: "W", Lang: "en"})
	sigBad.Record.Sig = bytes.Repeat([]byte{1}, 64)
	shapeBad := &Submission{Record: &record.Record{ID: "x"}}
	batch := append(f.cycle(2)[:1], sigBad, shapeBad)
	for range 20 {
		batch = append(batch, f.cycle(100 + len(batch))[0])
	}
	if _, err := n.Submit(ctx, batch); !errors.As(err, &ce) || !strings.HasPrefix(ce.Field, "records[1]") {
		t.Fatalf("bad signature at records[1] and bad shape at records[2]: %v", err)
	}

	// The next good batch lands where the refused one would have.
	res, err := n.Submit(ctx, []*Submission{good[0], stmt})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Index != base || res[1].Index != base+1 {
		t.Fatalf("the next good batch landed at %d, %d; want %d, %d", res[0].Index, res[1].Index, base, base+1)
	}
	// Many batches at once, some refused: the accepted ones are in a row.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []uint64
	for i := range 20 {
		wg.Go(func() {
			subs := f2(f, i)
			r, err := n.Submit(ctx, subs)
			mu.Lock()
			defer mu.Unlock()
			if i%3 == 0 {
				if err == nil {
					t.Errorf("batch %d with a bad record accepted", i)
				}
				return
			}
			if err != nil {
				t.Errorf("batch %d: %v", i, err)
				return
			}
			for _, x := range r {
				got = append(got, x.Index)
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	for i, x := range got {
		if x != base+2+uint64(i) {
			t.Fatalf("indices %v not in a row from %d", got, base+2)
		}
	}
	if size := logSize(t, dir); size != base+2+uint64(len(got)) {
		t.Fatalf("log holds %d, want %d", size, base+2+uint64(len(got)))
	}
	if err := compareProjections(ctx, n.store, rebuilt(t, dir)); err != nil {
		t.Fatal(err)
	}
	if lockedDump(t, n.App) != stateDump(t, replayedState(t, dir)) {
		t.Fatal("state differs from a replay of the log")
	}
}

// f2 is batch i of the concurrent part of TestRefusedBatchChangesNothing:
// three statements, the middle one refused by the state when i%3 == 0.
var f2mu sync.Mutex

func f2(f *fixture, i int) []*Submission {
	f2mu.Lock()
	defer f2mu.Unlock()
	var out []*Submission
	for k := range 3 {
		id := fmt.Sprintf("st-c-%d-%d", i, k)
		if i%3 == 0 && k == 1 {
			id = "st-x" // already recorded
		}
		out = append(out, f.sign("mon", corridor.TypeStatement, "", &corridor.Statement{ID: id, Kind: "statement", Speaker: "S", SaidOn: "2023-08-30", Quote: "W", Lang: "en"}))
	}
	return out
}

func equalDumps(a, b map[string][]string) bool {
	for _, t := range store.Tables() {
		if !slices.Equal(a[t], b[t]) {
			return false
		}
	}
	return true
}

// failProjection makes every projection write fail, with a trigger in the
// real database, until allowProjection.
func failProjection(t testing.TB, db *sql.DB) {
	t.Helper()
	if _, err := db.Exec(`CREATE TRIGGER fail_projection BEFORE INSERT ON records BEGIN SELECT RAISE(ABORT, 'injected projection failure'); END`); err != nil {
		t.Fatal(err)
	}
}

func allowProjection(t testing.TB, db *sql.DB) {
	t.Helper()
	if _, err := db.Exec(`DROP TRIGGER fail_projection`); err != nil {
		t.Fatal(err)
	}
}

// lockedDump is stateDump of a running app's state.
func lockedDump(t testing.TB, a *App) string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return stateDump(t, a.st)
}

func TestCrashBetweenAppendAndProjection(t *testing.T) {
	dir := newFolder(t)
	f := newFixture(t, dir)
	logs := &logBuffer{}
	n := openNode(t, dir, NodeOptions{Logger: logs.logger()})
	ctx := context.Background()
	submitAll(t, n.App, f.records(0, 3), 50)
	projected := n.Size()

	failProjection(t, n.store.DB())
	res := submitAll(t, n.App, f.records(3, 4), 7) // durable, answered, not projected
	if last := res[len(res)-1].Index; logSize(t, dir) != last+1 {
		t.Fatalf("answered index %d, log holds %d", last, logSize(t, dir))
	}
	if applied, _ := n.store.Applied(ctx); applied != projected {
		t.Fatalf("projection at %d, want %d (the failure was not injected)", applied, projected)
	}
	closeNode(t, n) // the process stops with the projection behind the log
	if !strings.Contains(logs.String(), "projection write failed") {
		t.Errorf("the failure was not logged:\n%s", logs.String())
	}

	st, err := store.Open(ctx, filepath.Join(dir, ProjectionFile))
	if err != nil {
		t.Fatal(err)
	}
	allowProjection(t, st.DB())
	st.Close()

	n = openNode(t, dir, NodeOptions{})
	if applied, _ := n.store.Applied(ctx); applied != logSize(t, dir) {
		t.Fatalf("after a start the projection is at %d, the log at %d", applied, logSize(t, dir))
	}
	closeNode(t, n)
	sameAsRebuild(t, dir)
}

func TestProjectionRetriedAfterFailure(t *testing.T) {
	dir := newFolder(t)
	f := newFixture(t, dir)
	n := openNode(t, dir, NodeOptions{})
	ctx := context.Background()
	submitAll(t, n.App, f.records(0, 2), 50)
	failProjection(t, n.store.DB())
	submitAll(t, n.App, f.records(2, 2), 5)
	allowProjection(t, n.store.DB())
	// The next group carries the ones that failed.
	submitAll(t, n.App, f.records(4, 1), 50)
	if applied, _ := n.store.Applied(ctx); applied != logSize(t, dir) {
		t.Fatalf("projection at %d, log at %d", applied, logSize(t, dir))
	}
	closeNode(t, n)
	sameAsRebuild(t, dir)
}

func TestFailedAppendCatchesUp(t *testing.T) {
	dir := newFolder(t)
	f := newFixture(t, dir)
	n := openNode(t, dir, NodeOptions{})
	defer closeNode(t, n)
	submitAll(t, n.App, f.setup(), 100)
	cl := &countingLog{Appender: n.Log}
	a, err := New(context.Background(), cl, n.store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	base := a.Size()
	cl.fail.Store(true)
	if _, err := a.Submit(context.Background(), f.cycle(0)); err == nil {
		t.Fatal("a failed append was acknowledged")
	}
	if a.Size() != base {
		t.Fatalf("state at %d after a failed append, want %d", a.Size(), base)
	}
	cl.fail.Store(false)
	res, err := a.Submit(context.Background(), f.cycle(0))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Index != base {
		t.Fatalf("after a failed append the next record landed at %d, want %d", res[0].Index, base)
	}
}

func TestCanonicalEntryCanonicalisesOnce(t *testing.T) {
	k := testKey("k")
	for _, payload := range []string{
		`{"b": 1, "a": [1.0, 2e2, -0, 1e21], "c": "é \u00e9 </script> & \u2028 /"}`,
		` { "z" : { "y" : "\t\"\\" , "x" : null } , "a" : true } `,
		`{"n":123456789012345678901234567890}`,
	} {
		for _, keyID := range []string{k.ID, "clé", `a"b`} {
			r := &record.Record{ID: "id-1", Type: corridor.TypeStatement, Version: 1, KeyID: keyID, Payload: json.RawMessage(payload), Sig: bytes.Repeat([]byte{7}, 64)}
			want := *r
			if err := want.Canonicalize(); err != nil {
				t.Fatal(err)
			}
			wantEntry, err := want.Entry()
			if err != nil {
				t.Fatal(err)
			}
			got, err := canonicalEntry(r)
			if err != nil {
				t.Fatal(err)
			}
			if _, fast := payloadMember(got, r); fast != (keyID == k.ID) {
				t.Errorf("key %q: cut out of the entry: %v", keyID, fast)
			}
			if !bytes.Equal(got, wantEntry) || !bytes.Equal(r.Payload, want.Payload) {
				t.Errorf("key %q payload %s:\n got %s\n     %s\nwant %s\n     %s", keyID, payload, got, r.Payload, wantEntry, want.Payload)
			}
		}
	}
	// A payload that is not JSON keeps its error.
	r := &record.Record{ID: "id-1", Type: corridor.TypeStatement, Version: 1, KeyID: k.ID, Payload: json.RawMessage(`{"a":`), Sig: bytes.Repeat([]byte{7}, 64)}
	want := *r
	werr := want.Canonicalize()
	if _, err := canonicalEntry(r); err == nil || err.Error() != werr.Error() {
		t.Errorf("bad JSON: %v, want %v", err, werr)
	}
}

func TestPrecheckSeesNewKeys(t *testing.T) {
	dir := newFolder(t)
	f := newFixture(t, dir)
	n := openNode(t, dir, NodeOptions{})
	defer closeNode(t, n)
	if _, ok := n.Key(f.keys["org"].ID); ok {
		t.Fatal("org's key known before it is registered")
	}
	submitAll(t, n.App, f.setup(), 100)
	k, ok := n.Key(f.keys["org"].ID)
	if !ok || k.Party != "org" {
		t.Fatalf("org's key after registration: %+v %v", k, ok)
	}
	if _, err := os.Stat(filepath.Join(dir, SnapshotFile)); !os.IsNotExist(err) {
		t.Fatalf("init left a snapshot of its one record: %v", err)
	}
}

func TestReadOnlyAppAnswersSizeAndKeys(t *testing.T) {
	dir, f := grown(t, 1)
	ctx := context.Background()
	fresh, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	rp := NewReplayer(fresh)
	err = ledger.OpenReader(filepath.Join(dir, LogDir)).Entries(ctx, 0, logSize(t, dir), func(i uint64, data []byte) error {
		return rp.Add(ctx, i, data)
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := rp.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.Size() != logSize(t, dir) {
		t.Errorf("replayed app says %d records, the log holds %d", a.Size(), logSize(t, dir))
	}
	if k, ok := a.Key(f.keys["mon"].ID); !ok || k.Party != "mon" {
		t.Errorf("replayed app: key of mon %+v %v", k, ok)
	}
	if _, err := a.Submit(ctx, f.cycle(99)); !errors.Is(err, ErrClosed) {
		t.Errorf("a read-only app took records: %v", err)
	}
	a.Close()
}

func TestCloseAnswersEverySubmit(t *testing.T) {
	dir := newFolder(t)
	f := newFixture(t, dir)
	n := openNode(t, dir, NodeOptions{})
	submitAll(t, n.App, f.setup(), 100)
	var subs [][]*Submission
	for i := range 200 {
		subs = append(subs, []*Submission{f.sign("mon", corridor.TypeStatement, "", &corridor.Statement{ID: fmt.Sprintf("st-%d", i),
			Kind: "statement", Speaker: "S", SaidOn: "2023-08-30", Quote: "W", Lang: "en"})})
	}
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for i := range subs {
		wg.Go(func() {
			_, err := n.Submit(context.Background(), subs[i])
			switch {
			case err == nil:
				accepted.Add(1)
			case !errors.Is(err, ErrClosed):
				t.Errorf("submit %d: %v", i, err)
			}
		})
	}
	time.Sleep(5 * time.Millisecond)
	closeNode(t, n)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("a Submit was never answered after Close")
	}
	if got, want := logSize(t, dir), uint64(1+8)+uint64(accepted.Load()); got != want {
		t.Fatalf("log holds %d, %d accepted after the setup: want %d", got, accepted.Load(), want)
	}
}
