package ledger

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestVerifyConsistency: a tree head extends an earlier one of the same
// log; a fork (another log under the same key), a shrunk log and a
// tree head under another key are each refused and named.
func TestVerifyConsistency(t *testing.T) {
	ctx := context.Background()
	s, v := testKeys(t)

	// The log at size 3, then grown to 10.
	dir := t.TempDir()
	l := openTest(t, dir, s)
	appendOK(t, l, makeEntries(0, 3))
	closeTest(t, l)
	early, _, _, err := OpenReader(dir).TreeHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir, s)
	appendOK(t, l, makeEntries(3, 7))
	closeTest(t, l)
	late, _, _, err := OpenReader(dir).TreeHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if from, to, err := VerifyConsistency(ctx, dir, v, early); err != nil || from != 3 || to != 10 {
		t.Fatalf("grown log: %d → %d, %v; want 3 → 10 and no error", from, to, err)
	}
	if _, _, err := VerifyConsistency(ctx, dir, v, late); err != nil {
		t.Fatalf("same tree head: %v", err)
	}

	// A fork: another log signed with the same key, different entries.
	fork := t.TempDir()
	l = openTest(t, fork, s)
	appendOK(t, l, makeEntries(100, 3))
	closeTest(t, l)
	_, _, err = VerifyConsistency(ctx, fork, v, early)
	var te *TreeError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "fork") {
		t.Fatalf("same size, other root: %v, want a fork", err)
	}
	l = openTest(t, fork, s)
	appendOK(t, l, makeEntries(103, 7))
	closeTest(t, l)
	if _, _, err := VerifyConsistency(ctx, fork, v, early); !errors.As(err, &te) || !strings.Contains(err.Error(), "not consistent") {
		t.Fatalf("larger forked log: %v, want not consistent", err)
	}

	// The log shrank: the earlier tree head is larger than the latest.
	small := t.TempDir()
	l = openTest(t, small, s)
	appendOK(t, l, makeEntries(0, 2))
	closeTest(t, l)
	if _, _, err := VerifyConsistency(ctx, small, v, early); !errors.As(err, &te) || !strings.Contains(err.Error(), "shrank") {
		t.Fatalf("smaller log: %v, want shrank", err)
	}

	// A tree head under another key is refused.
	_, other := testKeys(t)
	if _, _, err := VerifyConsistency(ctx, dir, other, early); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("other key: %v, want a signature error", err)
	}
}
