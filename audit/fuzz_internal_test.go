package audit

import (
	"context"
	"testing"

	"github.com/transparency-dev/tessera/api/layout"
)

// served answers every read with the same bytes: what a hostile server
// could serve as a bundle and a tile.
type served struct{ bundle, tile []byte }

func (s served) ReadCheckpoint(context.Context) ([]byte, error) { return nil, nil }
func (s served) ReadTile(context.Context, uint64, uint64, uint8) ([]byte, error) {
	return s.tile, nil
}
func (s served) ReadEntryBundle(context.Context, uint64, uint8) ([]byte, error) {
	return s.bundle, nil
}

// FuzzFetchedBundleAndTile: the auditor reads any entry bundle and hash
// tile a server sends into entries and hashes or an error, never a panic;
// what it accepts holds no more entries or hashes than a full tile.
func FuzzFetchedBundleAndTile(f *testing.F) {
	f.Add([]byte("\x00\x02{}"), make([]byte, 64))
	f.Add([]byte{0x00}, []byte{1, 2, 3})
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, bundle, tile []byte) {
		got := fetch(context.Background(), served{bundle, tile}, layout.RangeInfo{Index: 0, N: 1})
		if got.err != nil {
			return
		}
		if len(got.bundle.Entries) > layout.EntryBundleWidth || len(got.tile.Nodes) > layout.TileWidth {
			t.Fatalf("accepted %d entries and %d hashes in one bundle and tile", len(got.bundle.Entries), len(got.tile.Nodes))
		}
	})
}
