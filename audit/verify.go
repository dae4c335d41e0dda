package audit

import (
	"context"
	"crypto/ed25519"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/transparency-dev/merkle/rfc6962"

	"corridor"
	"corridor/record"
)

// The work on each entry that needs no state — its leaf hash, parsing,
// the envelope's shape, the payload's schema, its canonical form and
// the Ed25519 signature — is done across all cores, a window of bundles
// at a time, ahead of the replay, which then only applies the rules and
// writes the projection.
//
// Signatures are checked optimistically: against the key that the party
// records before the entry, in log order, gave its key id. The replay
// checks that this is the key the state has registered for the signer at
// that index, and verifies the signature again itself if not, so a record
// signed by a key not (or no longer) registered at its index is refused
// whatever this pre-pass guessed.

// prepared is one entry made ready for the replay.
type prepared struct {
	leaf []byte // RFC 6962 leaf hash of the entry
	rec  *record.Record
	typ  *corridor.RecordType
	pl   corridor.Payload
	// decoded is set when the entry parsed, its shape and payload checked:
	// it can be replayed without parsing it again. Otherwise the replay
	// parses it itself and reports why it does not.
	decoded bool
	// pub is the key the signature verified against (nil: not verified).
	pub ed25519.PublicKey
}

// decodedAdder is the replay of an entry parsed, decoded and verified
// ahead: app.Replayer.AddDecoded. Until the Replayer has it, entries go
// through Add, which parses and verifies each one again, in sequence.
type decodedAdder interface {
	AddDecoded(ctx context.Context, i uint64, rec *record.Record, t *corridor.RecordType, p corridor.Payload, verified ed25519.PublicKey) error
}

// keyring maps key ids to the public keys party records gave them, in
// log order. It does not apply the rules (a refused registration still
// adds its keys, a replaced key stays): it only says which key to try.
type keyring map[string]ed25519.PublicKey

// candidate is the key to verify rec with: the one known before it, or
// for the operator's first record, one of the keys it registers.
func (k keyring) candidate(rec *record.Record, pl corridor.Payload) ed25519.PublicKey {
	if pub, ok := k[rec.KeyID]; ok {
		return pub
	}
	if p, ok := pl.(*corridor.Party); ok {
		for _, pk := range p.Keys {
			if pk.ID == rec.KeyID {
				return ed25519.PublicKey(pk.Public)
			}
		}
	}
	return nil
}

func (k keyring) learn(pl corridor.Payload) {
	if p, ok := pl.(*corridor.Party); ok {
		for _, pk := range p.Keys {
			if len(pk.Public) == ed25519.PublicKeySize {
				k[pk.ID] = ed25519.PublicKey(pk.Public)
			}
		}
	}
}

// prepare fills out[i] for entries[i]. With decode unset only leaf hashes
// are computed (the replay parses and verifies every record itself).
func prepare(workers int, keys keyring, entries [][]byte, out []prepared, decode bool) {
	parallel(workers, len(entries), func(i int) {
		p := &out[i]
		*p = prepared{leaf: rfc6962.DefaultHasher.HashLeaf(entries[i])}
		if !decode {
			return
		}
		rec, err := record.ParseEntry(entries[i])
		if err != nil || rec.CheckShape() != nil {
			return
		}
		t, pl, err := corridor.Decode(rec)
		if err != nil {
			return
		}
		if _, err := rec.Entry(); err != nil { // memoised for the replay's record hash
			return
		}
		p.rec, p.typ, p.pl, p.decoded = rec, t, pl, true
	})
	if !decode {
		return
	}
	// In log order: the key each record is to be checked against.
	cand := make([]ed25519.PublicKey, len(entries))
	for i := range out {
		if out[i].decoded {
			cand[i] = keys.candidate(out[i].rec, out[i].pl)
			keys.learn(out[i].pl)
		}
	}
	parallel(workers, len(entries), func(i int) {
		if cand[i] != nil && out[i].rec.Verify(cand[i]) == nil {
			out[i].pub = cand[i]
		}
	})
}

// parallel calls f(i) for every i in [0, n) on up to workers goroutines,
// handing out indexes in small chunks, and returns when all are done.
func parallel(workers, n int, f func(i int)) {
	const chunk = 64
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, (n+chunk-1)/chunk)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n); i++ {
					f(i)
				}
			}
		})
	}
	wg.Wait()
}
