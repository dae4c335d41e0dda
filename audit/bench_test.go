package audit_test

import (
	"crypto/ed25519"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"corridor/app"
	"corridor/audit"
	"corridor/record"
)

// BenchmarkAuditDir audits a local copy of a log of 20,000 records (the
// reference scenario and generated statements), beside the reference:
// verifying the same records' Ed25519 signatures on all cores and
// nothing else. What counts is the ratio of the two entries/s figures.
//
//	go test -run XXX -bench AuditDir -benchtime 5x ./audit
func BenchmarkAuditDir(b *testing.B) {
	l := newLog(b, 20000-45)
	logDir := filepath.Join(l.dir, app.LogDir)

	b.Run("audit", func(b *testing.B) {
		o := audit.WithWindow(l.options(b, logDir), 0) // the default window
		for b.Loop() {
			if rep := run(b, o); !rep.OK() {
				b.Fatalf("audit: %v", first(rep.Problems))
			}
		}
		b.ReportMetric(float64(l.size)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})

	b.Run("ed25519-all-cores", func(b *testing.B) {
		type signed struct {
			pub      ed25519.PublicKey
			msg, sig []byte
		}
		keys := map[string]ed25519.PublicKey{l.op.ID: l.op.Public}
		for _, k := range l.keys {
			keys[k.ID] = k.Public
		}
		var all []signed
		for _, e := range l.entries(b) {
			r, err := record.ParseEntry(e)
			if err != nil {
				b.Fatal(err)
			}
			all = append(all, signed{keys[r.KeyID], record.SignedMessage(r.ID, r.Type, r.Version, r.KeyID, r.Payload), r.Sig})
		}
		for b.Loop() {
			var next atomic.Int64
			var bad atomic.Int64
			var wg sync.WaitGroup
			for range runtime.GOMAXPROCS(0) {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(len(all)); i = next.Add(1) - 1 {
						if !ed25519.Verify(all[i].pub, all[i].msg, all[i].sig) {
							bad.Add(1)
						}
					}
				})
			}
			wg.Wait()
			if bad.Load() != 0 {
				b.Fatalf("%d signatures do not verify", bad.Load())
			}
		}
		b.ReportMetric(float64(len(all))*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
}
