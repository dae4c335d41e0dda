package witness_test

import (
	"testing"

	"corridor/witness"
)

// FuzzParsePolicy: a witness policy file (operator input, and the one the
// auditor and receipt checker are handed) is refused or parsed into a
// policy whose every witness has a key, and whose checks of any tree head
// answer without a panic.
func FuzzParsePolicy(f *testing.F) {
	_, vkey, err := witness.GenerateKey("witness.fuzz")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"witness w " + vkey + " https://w.example/\nquorum w\n",
		"witness w " + vkey + "\nwitness x " + vkey + "\ngroup g 1 w x\nquorum g\n",
		"log corridor.test/log+00000000+AAAA\nquorum none\n",
		"# comment\n\nwitness w " + vkey + " # trailing\ngroup g any w\ngroup h all g w\nquorum h",
		"witness w 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef https://x/\nquorum w",
		"quorum\n", "group g 3 a b\n", "\x00\xff",
	} {
		f.Add([]byte(s), []byte("corridor.test/log\n3\nKRuGkrhu8u8CJL91ihA6u0KVioBu1le+H1ME3T7M6IQ=\n\n— w AAAA\n"))
	}
	f.Fuzz(func(t *testing.T, text, treeHead []byte) {
		p, err := witness.ParsePolicy(text)
		if err != nil {
			return
		}
		for _, m := range p.Witnesses {
			if m.Name == "" || m.Key == "" || m.Verifier == nil {
				t.Fatalf("a witness without a name or key: %+v", m)
			}
		}
		p.Cosigners(treeHead)
		p.Satisfied(treeHead)
		p.Check(treeHead)
	})
}
