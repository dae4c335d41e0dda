package corridor

import (
	"bufio"
	"bytes"
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
//	"corridor-state-v3\n"
//	uvarint Size
//	uvarint number of records, uvarint length in bytes of what follows,
//	        then for each record: uvarint len(id), id, uvarint index,
//	        32 bytes of hash
//	uvarint number of chunks, uvarint number of entries of each map (in
//	        the order of stateMaps), then as many gob messages of stateMaps,
//	        each with at most chunkSize entries, so that neither side
//	        holds the whole encoding in memory
//
// The record ids and the maps are decoded side by side.
const stateMagic = "corridor-state-v3\n" // v2: checkpoints keep the last day recorded at them; v3: who each record names

const chunkSize = 4096

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
	Named       map[string][]string
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
		Named:       maps.Clone(st.Named),
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
	var n uint64
	for id, ref := range st.Records {
		n += uint64(uvarintLen(uint64(len(id))) + len(id) + uvarintLen(ref.Index) + 32)
	}
	putUvarint(n)
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

	entries := len(st.Keys) + len(st.Parties) + len(st.Places) + len(st.Routes) + len(st.Checkpoints) +
		len(st.Convoys) + len(st.Statements) + len(st.Incidents) + len(st.Claims) + len(st.Named)
	putUvarint(uint64(max(1, (entries+chunkSize-1)/chunkSize)))
	for _, n := range []int{len(st.Keys), len(st.Parties), len(st.Places), len(st.Routes), len(st.Checkpoints),
		len(st.Convoys), len(st.Statements), len(st.Incidents), len(st.Claims), len(st.Named)} {
		putUvarint(uint64(n))
	}
	ch := &chunker{enc: gob.NewEncoder(bw)}
	putAll(ch, st.Keys, func(c *stateMaps) *map[string]*KeyInfo { return &c.Keys })
	putAll(ch, st.Parties, func(c *stateMaps) *map[string]*Party { return &c.Parties })
	putAll(ch, st.Places, func(c *stateMaps) *map[string]*Place { return &c.Places })
	putAll(ch, st.Routes, func(c *stateMaps) *map[string]*Route { return &c.Routes })
	putAll(ch, st.Checkpoints, func(c *stateMaps) *map[string]*Checkpoint { return &c.Checkpoints })
	putAll(ch, st.Convoys, func(c *stateMaps) *map[string]*ConvoyState { return &c.Convoys })
	putAll(ch, st.Statements, func(c *stateMaps) *map[string]*Statement { return &c.Statements })
	putAll(ch, st.Incidents, func(c *stateMaps) *map[string]*Incident { return &c.Incidents })
	putAll(ch, st.Claims, func(c *stateMaps) *map[string]*Claim { return &c.Claims })
	putAll(ch, st.Named, func(c *stateMaps) *map[string][]string { return &c.Named })
	if ch.err == nil && (ch.filled > 0 || entries == 0) {
		ch.flush()
	}
	if ch.err != nil {
		return fmt.Errorf("encode state: %w", ch.err)
	}
	return bw.Flush()
}

// chunker gathers map entries into gob messages of chunkSize entries.
type chunker struct {
	enc    *gob.Encoder
	c      stateMaps
	filled int
	err    error
}

func (ch *chunker) flush() {
	if ch.err == nil {
		ch.err = ch.enc.Encode(ch.c)
	}
	ch.c, ch.filled = stateMaps{}, 0
}

func putAll[V any](ch *chunker, src map[string]V, field func(*stateMaps) *map[string]V) {
	for k, v := range src {
		m := field(&ch.c)
		if *m == nil {
			*m = make(map[string]V, min(len(src), chunkSize))
		}
		(*m)[k] = v
		if ch.filled++; ch.filled == chunkSize {
			ch.flush()
		}
	}
}

func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
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
	magic := make([]byte, len(stateMagic))
	if _, err := io.ReadFull(r, magic); err != nil {
		return nil, decodeErr("header", err)
	}
	if string(magic) != stateMagic {
		return nil, fmt.Errorf("decode state: not a corridor state, or another version (header %q)", magic)
	}
	size, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, decodeErr("size", err)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, decodeErr("number of records", err)
	}
	if n > size || n > 1<<40 {
		return nil, fmt.Errorf("decode state: %d record ids in a state of %d records", n, size)
	}
	length, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, decodeErr("record ids", err)
	}
	if length < n*34 || length > n*(2+record.MaxIDLen+binary.MaxVarintLen64+32) {
		return nil, fmt.Errorf("decode state: %d bytes for %d record ids", length, n)
	}
	// The record ids are read whole and decoded beside the maps.
	buf := bytes.NewBuffer(make([]byte, 0, min(length, 64<<20)))
	if _, err := io.CopyN(buf, r, int64(length)); err != nil {
		return nil, decodeErr("record ids", err)
	}
	ids := buf.Bytes()
	st := NewState()
	st.Size = size
	done := make(chan error, 1)
	go func() {
		var err error
		st.Records, err = decodeRecords(ids, n, size)
		done <- err
	}()
	err = decodeMaps(r, st)
	if rerr := <-done; rerr != nil {
		return nil, rerr
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

func decodeErr(what string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("decode state: %s: %w", what, err)
}

// decodeRecords decodes the n record ids of a state of size records.
func decodeRecords(b []byte, n, size uint64) (map[string]RecordRef, error) {
	records := make(map[string]RecordRef, n)
	bad := func(what string) (map[string]RecordRef, error) {
		return nil, fmt.Errorf("decode state: record ids: %s", what)
	}
	for i := uint64(0); i < n; i++ {
		l, k := binary.Uvarint(b)
		if k <= 0 || l == 0 || l > record.MaxIDLen || uint64(len(b)-k) < l {
			return bad("bad id length")
		}
		id := string(b[k : k+int(l)])
		b = b[k+int(l):]
		idx, k := binary.Uvarint(b)
		if k <= 0 || idx >= size {
			return bad(fmt.Sprintf("bad index in a state of %d records", size))
		}
		b = b[k:]
		if len(b) < 32 {
			return bad("cut short")
		}
		records[id] = RecordRef{Index: idx, Hash: hex.EncodeToString(b[:32])}
		b = b[32:]
	}
	if len(b) != 0 {
		return bad("data after the last one")
	}
	if uint64(len(records)) != n {
		return bad("a record id appears twice")
	}
	return records, nil
}

// decodeMaps decodes the gob chunks into st's maps.
func decodeMaps(r ByteReader, st *State) error {
	chunks, err := binary.ReadUvarint(r)
	if err != nil {
		return decodeErr("maps", err)
	}
	var sizes [10]int
	for i := range sizes {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return decodeErr("maps", err)
		}
		sizes[i] = int(min(n, 1<<22)) // room made ahead; a damaged count is not trusted further
	}
	st.Keys = make(map[string]*KeyInfo, sizes[0])
	st.Parties = make(map[string]*Party, sizes[1])
	st.Places = make(map[string]*Place, sizes[2])
	st.Routes = make(map[string]*Route, sizes[3])
	st.Checkpoints = make(map[string]*Checkpoint, sizes[4])
	st.Convoys = make(map[string]*ConvoyState, sizes[5])
	st.Statements = make(map[string]*Statement, sizes[6])
	st.Incidents = make(map[string]*Incident, sizes[7])
	st.Claims = make(map[string]*Claim, sizes[8])
	st.Named = make(map[string][]string, sizes[9])
	dec := gob.NewDecoder(r)
	// gob adds the entries of each chunk to the maps already there.
	m := stateMaps{Keys: st.Keys, Parties: st.Parties, Places: st.Places, Routes: st.Routes, Checkpoints: st.Checkpoints,
		Convoys: st.Convoys, Statements: st.Statements, Incidents: st.Incidents, Claims: st.Claims, Named: st.Named}
	for i := uint64(0); i < chunks; i++ {
		if err := dec.Decode(&m); err != nil {
			return decodeErr("maps", err)
		}
	}
	for id, c := range st.Convoys {
		if c == nil {
			return fmt.Errorf("decode state: convoy %q has no state", id)
		}
		if c.Clearance == nil {
			c.Clearance = map[string]ClearanceAnswer{} // a filed convoy has an empty one
		}
	}
	for id, k := range st.Keys {
		if k == nil || st.Parties[k.Party] == nil {
			return fmt.Errorf("decode state: key %q belongs to no known party", id)
		}
	}
	return nil
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
