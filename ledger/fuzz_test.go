package ledger

import "testing"

// FuzzParseTreeHead: a tree head from a server or a witness parses (a
// signed note with a checkpoint body and a 32-byte root) or is refused.
func FuzzParseTreeHead(f *testing.F) {
	f.Add([]byte("corridor.test/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— corridor.test/log AAAAAAAA\n"))
	f.Add([]byte("corridor.test/log\n3\nAAAA\n"))
	f.Add([]byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cp, err := parseUnverified(raw)
		if err != nil {
			return
		}
		if len(cp.Hash) != 32 || cp.Origin == "" {
			t.Fatalf("parsed a tree head with origin %q and a %d-byte root", cp.Origin, len(cp.Hash))
		}
	})
}
