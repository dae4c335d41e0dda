package receipt_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"corridor/ledger"
	"corridor/receipt"
	"corridor/record"
	"corridor/witness"
)

const origin = "corridor.test/log"

type fixture struct {
	policy  *witness.Policy
	receipt *receipt.Receipt
	entry   []byte
	other   note.Signer // a key that is not the log's, same name
}

// setup logs five signed records, has two witnesses cosign the tree head
// and makes the receipt of record 2 under a policy asking for both.
func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	skey, vkey, _ := note.GenerateKey(rand.Reader, origin)
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	oskey, _, _ := note.GenerateKey(rand.Reader, origin)
	other, _ := note.NewSigner(oskey)

	l, err := ledger.Open(ctx, t.TempDir(), s, ledger.Options{CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	k, _ := record.GenerateKey()
	var entries [][]byte
	for i := range 5 {
		r, err := record.Sign(k, fmt.Sprintf("rec-%d", i), "statement.record", 1, map[string]any{"n": i})
		if err != nil {
			t.Fatal(err)
		}
		e, _ := r.Entry()
		entries = append(entries, e)
	}
	idx, err := l.Append(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := l.WaitPublished(wctx, idx[4]); err != nil {
		t.Fatal(err)
	}
	th, size, _, err := l.TreeHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	policy := "log " + vkey + "\n"
	var sigs []byte
	for _, name := range []string{"w1", "w2"} {
		wskey, wvkey, _ := witness.GenerateKey(name + ".test")
		ws, _ := witness.NewSigner(wskey)
		w, err := witness.New(witness.Config{Signer: ws, Logs: map[string]note.Verifier{origin: v}, StateDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		sig, err := w.AddCheckpoint(append([]byte("old 0\n\n"), th...))
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sig...)
		policy += "witness " + name + " " + wvkey + "\n"
	}
	policy += "group both all w1 w2\nquorum both\n"
	p, err := witness.ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	pr, err := l.InclusionProof(ctx, 2, size)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receipt.Receipt{Entry: entries[2], Index: 2, Proof: pr, TreeHead: append(append([]byte{}, th...), sigs...)}
	return &fixture{policy: p, receipt: rc, entry: entries[2], other: other}
}

// roundTrip marshals and parses, as a receipt file would be.
func roundTrip(t *testing.T, r *receipt.Receipt) *receipt.Receipt {
	t.Helper()
	p, err := receipt.Parse(r.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReceiptVerifies(t *testing.T) {
	f := setup(t)
	text := f.receipt.Marshal()
	if !bytes.HasPrefix(text, []byte("c2sp.org/tlog-proof@v1\nextra ")) {
		t.Fatalf("receipt does not start in the C2SP tlog-proof form:\n%s", text)
	}
	res, err := receipt.Verify(roundTrip(t, f.receipt), f.policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Record.ID != "rec-2" || res.Index != 2 || len(res.Cosigners) != 2 {
		t.Fatalf("verified %+v", res)
	}
	if _, err := receipt.Verify(roundTrip(t, f.receipt), f.policy, f.entry); err != nil {
		t.Fatalf("with the record given separately: %v", err)
	}
}

func TestReceiptFailures(t *testing.T) {
	f := setup(t)
	cases := []struct {
		name   string
		change func(r *receipt.Receipt) (*witness.Policy, []byte)
		want   string
	}{
		{"changed record", func(r *receipt.Receipt) (*witness.Policy, []byte) {
			r.Entry = bytes.Replace(r.Entry, []byte(`"n":2`), []byte(`"n":3`), 1)
			return f.policy, nil
		}, "not at index 2"},
		{"record given differs", func(r *receipt.Receipt) (*witness.Policy, []byte) {
			return f.policy, bytes.Replace(f.entry, []byte(`"n":2`), []byte(`"n":3`), 1)
		}, "differs"},
		{"changed proof", func(r *receipt.Receipt) (*witness.Policy, []byte) {
			r.Proof[0][0] ^= 1
			return f.policy, nil
		}, "not at index 2"},
		{"other index", func(r *receipt.Receipt) (*witness.Policy, []byte) {
			r.Index = 3
			return f.policy, nil
		}, "not at index 3"},
		{"tree head signed by another key", func(r *receipt.Receipt) (*witness.Policy, []byte) {
			body, _, _ := bytes.Cut(r.TreeHead, []byte("\n\n"))
			signed, err := note.Sign(&note.Note{Text: string(body) + "\n"}, f.other)
			if err != nil {
				t.Fatal(err)
			}
			r.TreeHead = signed
			return f.policy, nil
		}, "not signed by the log key"},
		{"too few cosignatures", func(r *receipt.Receipt) (*witness.Policy, []byte) {
			lines := strings.SplitAfter(string(r.TreeHead), "\n")
			r.TreeHead = []byte(strings.Join(lines[:len(lines)-2], "")) // drop w2's line
			return f.policy, nil
		}, "too few cosignatures"},
		{"forged cosignature", func(r *receipt.Receipt) (*witness.Policy, []byte) {
			lines := strings.SplitAfter(string(r.TreeHead), "\n")
			last := lines[len(lines)-2]
			i := strings.LastIndex(last, " ")
			sig, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(last[i+1:]))
			sig[len(sig)-1] ^= 1
			lines[len(lines)-2] = last[:i+1] + base64.StdEncoding.EncodeToString(sig) + "\n"
			r.TreeHead = []byte(strings.Join(lines, ""))
			return f.policy, nil
		}, "too few cosignatures"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := roundTrip(t, f.receipt)
			p, given := c.change(r)
			_, err := receipt.Verify(roundTrip(t, r), p, given)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error naming %q", err, c.want)
			}
			t.Logf("refused as expected: %v", err)
		})
	}
}

// FuzzParse: a receipt from anywhere parses or is refused; one that
// parses writes back to a receipt that parses the same.
func FuzzParse(f *testing.F) {
	f.Add([]byte("c2sp.org/tlog-proof@v1\nindex 3\nAAAA\n\ncorridor.test/log\n4\nAAAA\n\n— corridor.test/log AAAA\n"))
	f.Add([]byte("c2sp.org/tlog-proof@v1\nextra e30=\nindex 0\n\n"))
	f.Add([]byte("nonsense"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := receipt.Parse(data)
		if err != nil {
			return
		}
		again, err := receipt.Parse(r.Marshal())
		if err != nil {
			t.Fatalf("a parsed receipt does not parse once written: %v", err)
		}
		if again.Index != r.Index || len(again.Proof) != len(r.Proof) || !bytes.Equal(again.Entry, r.Entry) {
			t.Fatalf("round trip changed the receipt: %+v -> %+v", r, again)
		}
	})
}
