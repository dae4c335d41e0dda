package corridor

import (
	"bufio"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"

	"corridor/record"
)

// The state's encoding, for the writer's snapshot: a versioned header, the
// record ids (the bulk of a large state) in a compact binary form, then the
// other maps with encoding/gob, which keeps every exported field, including
// times with their offset (and time.Local), pointers to zero structs and
// empty maps. What it does not keep is the difference between a nil and an
// empty slice: an empty slice comes back nil. In a state only payload lists
// with omitempty (a statement's about_routes sent as []) can be empty; the
// rules only range over them or take their length, so nothing behaves
// differently. The convoy progress lists are nil or non-empty.
//
//	"corridor-state-v1\n"
//	uvarint Size
//	uvarint number of records, then for each: uvarint len(id), id,
//	        uvarint index, 32 bytes of hash
//	gob of stateMaps
const stateMagic = "corridor-state-v1\n"

// stateMaps is the part of a State encoded with gob.
type stateMaps struct {
	Keys        map[string]*KeyInfo
	Parties     map[string]*Party
	Places      map[string]*Place
	Routes      map[string]*Route
	Checkpoints map[string]*Checkpoint
	Convoys     map[string]*ConvoyState
	Statements  map[string]*Statement
	Incidents   map[string]*Incident
	Claims      map[string]*Claim
}

// Clone returns a copy of the state that shares its values but not its
// maps. The values of a state are never changed in place (a change puts a
// new value in the map, which is also what lets Rollback undo it), so the
// copy can be read, for instance encoded, by another goroutine while the
// original goes on changing. It must not be called between Begin and
// Commit or Rollback.
func (st *State) Clone() *State {
	return &State{
		Records:     maps.Clone(st.Records),
		Keys:        maps.Clone(st.Keys),
		Parties:     maps.Clone(st.Parties),
		Places:      maps.Clone(st.Places),
		Routes:      maps.Clone(st.Routes),
		Checkpoints: maps.Clone(st.Checkpoints),
		Convoys:     maps.Clone(st.Convoys),
		Statements:  maps.Clone(st.Statements),
		Incidents:   maps.Clone(st.Incidents),
		Claims:      maps.Clone(st.Claims),
		Size:        st.Size,
	}
}

// Encode writes the state (see DecodeState). It refuses a state inside an
// uncommitted Begin.
func (st *State) Encode(w io.Writer) error {
	if st.inTx {
		return errors.New("encode state: changes not yet committed")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(stateMagic)
	var buf [binary.MaxVarintLen64]byte
	putUvarint := func(x uint64) { bw.Write(buf[:binary.PutUvarint(buf[:], x)]) }
	putUvarint(st.Size)
	putUvarint(uint64(len(st.Records)))
	var h [32]byte
	for id, ref := range st.Records {
		if !decodeHash(h[:], ref.Hash) {
			return fmt.Errorf("encode state: record %q: hash %q is not 64 hex digits", id, ref.Hash)
		}
		putUvarint(uint64(len(id)))
		bw.WriteString(id)
		putUvarint(ref.Index)
		bw.Write(h[:])
	}
	err := gob.NewEncoder(bw).Encode(stateMaps{
		Keys: st.Keys, Parties: st.Parties, Places: st.Places, Routes: st.Routes,
		Checkpoints: st.Checkpoints, Convoys: st.Convoys, Statements: st.Statements,
		Incidents: st.Incidents, Claims: st.Claims,
	})
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return bw.Flush()
}

// ByteReader is what DecodeState reads from.
type ByteReader interface {
	io.Reader
	io.ByteReader
}

// DecodeState reads a state written by Encode. It reads exactly what Encode
// wrote and no further, so that the caller can read what follows (a
// checksum) from r.
func DecodeState(r ByteReader) (*State, error) {
	fail := func(what string, err error) (*State, error) {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("decode state: %s: %w", what, err)
	}
	magic := make([]byte, len(stateMagic))
	if _, err := io.ReadFull(r, magic); err != nil {
		return fail("header", err)
	}
	if string(magic) != stateMagic {
		return nil, fmt.Errorf("decode state: not a corridor state, or another version (header %q)", magic)
	}
	size, err := binary.ReadUvarint(r)
	if err != nil {
		return fail("size", err)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return fail("number of records", err)
	}
	if n > size {
		return nil, fmt.Errorf("decode state: %d record ids in a state of %d records", n, size)
	}
	st := NewState()
	st.Size = size
	st.Records = make(map[string]RecordRef, min(n, 1<<22))
	var id [record.MaxIDLen]byte
	var h [32]byte
	for i := uint64(0); i < n; i++ {
		l, err := binary.ReadUvarint(r)
		if err != nil {
			return fail("record ids", err)
		}
		if l == 0 || l > record.MaxIDLen {
			return nil, fmt.Errorf("decode state: record id of %d bytes", l)
		}
		if _, err := io.ReadFull(r, id[:l]); err != nil {
			return fail("record ids", err)
		}
		idx, err := binary.ReadUvarint(r)
		if err != nil {
			return fail("record ids", err)
		}
		if idx >= size {
			return nil, fmt.Errorf("decode state: record at index %d in a state of %d records", idx, size)
		}
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return fail("record ids", err)
		}
		st.Records[string(id[:l])] = RecordRef{Index: idx, Hash: hex.EncodeToString(h[:])}
	}
	if uint64(len(st.Records)) != n {
		return nil, errors.New("decode state: a record id appears twice")
	}
	var m stateMaps
	if err := gob.NewDecoder(r).Decode(&m); err != nil {
		return fail("maps", err)
	}
	// An empty map may come back nil: keep NewState's empty one.
	setMap(&st.Keys, m.Keys)
	setMap(&st.Parties, m.Parties)
	setMap(&st.Places, m.Places)
	setMap(&st.Routes, m.Routes)
	setMap(&st.Checkpoints, m.Checkpoints)
	setMap(&st.Convoys, m.Convoys)
	setMap(&st.Statements, m.Statements)
	setMap(&st.Incidents, m.Incidents)
	setMap(&st.Claims, m.Claims)
	for id, c := range st.Convoys {
		if c == nil {
			return nil, fmt.Errorf("decode state: convoy %q has no state", id)
		}
		if c.Clearance == nil {
			c.Clearance = map[string]ClearanceAnswer{} // a filed convoy has an empty one
		}
	}
	for id, k := range st.Keys {
		if k == nil || st.Parties[k.Party] == nil {
			return nil, fmt.Errorf("decode state: key %q belongs to no known party", id)
		}
	}
	return st, nil
}

func setMap[V any](dst *map[string]V, src map[string]V) {
	if src != nil {
		*dst = src
	}
}

// decodeHash decodes 64 hex digits into dst (32 bytes).
func decodeHash(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
