// Package record is corridor's signed record envelope: canonical JSON
// (RFC 8785), Ed25519 keys and signatures, and the salted commitments that
// keep personal data out of the public log. The client, the domain, the
// server and the auditor share it; it imports no log or database driver.
package record

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"

	"github.com/gowebpki/jcs"
)

// Record is one signed statement by one party. Its canonical JSON is the
// log entry. The signature covers the signing context, the record id, the
// type and its schema version, the signer's key id and the canonical payload
// (see SignedMessage).
type Record struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Version int             `json:"v"`
	KeyID   string          `json:"key"`
	Payload json.RawMessage `json:"payload"`
	Sig     []byte          `json:"sig"`

	entry []byte // memo of Entry; a record is not changed once signed
}

// Limits on records. An entry in the log must stay under MaxEntrySize.
const (
	MaxPayloadSize = 48 << 10
	MaxIDLen       = 64
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)

// FieldError names the field of a record that is wrong.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// ErrBadSignature is returned when a record's signature does not verify.
var ErrBadSignature = errors.New("signature does not verify")

// CheckID reports whether s is an acceptable identifier (record ids, entity ids).
func CheckID(field, s string) error {
	if s == "" {
		return &FieldError{field, "is required"}
	}
	if len(s) > MaxIDLen {
		return &FieldError{field, fmt.Sprintf("longer than %d characters", MaxIDLen)}
	}
	if !idPattern.MatchString(s) {
		return &FieldError{field, "must be letters, digits and . _ : - only, starting with a letter or digit"}
	}
	return nil
}

// CheckShape validates the envelope fields that need no key or state.
func (r *Record) CheckShape() error {
	if err := CheckID("id", r.ID); err != nil {
		return err
	}
	if r.Type == "" {
		return &FieldError{"type", "is required"}
	}
	if r.Version < 1 {
		return &FieldError{"v", "schema version must be 1 or more"}
	}
	if r.KeyID == "" {
		return &FieldError{"key", "is required"}
	}
	if len(r.Payload) == 0 {
		return &FieldError{"payload", "is required"}
	}
	if len(r.Payload) > MaxPayloadSize {
		return &FieldError{"payload", fmt.Sprintf("larger than %d bytes", MaxPayloadSize)}
	}
	if len(r.Sig) != ed25519.SignatureSize {
		return &FieldError{"sig", "must be a 64-byte Ed25519 signature (base64)"}
	}
	return nil
}

// Canonical returns the RFC 8785 form of a JSON document.
func Canonical(doc []byte) ([]byte, error) {
	return jcs.Transform(doc)
}

// SignedMessage is the exact byte string a record's signature covers.
func SignedMessage(id, typ string, version int, keyID string, canonicalPayload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("corridor-record-v1\n")
	b.WriteString(id)
	b.WriteByte('\n')
	b.WriteString(typ)
	b.WriteByte('\n')
	b.WriteString(strconv.Itoa(version))
	b.WriteByte('\n')
	b.WriteString(keyID)
	b.WriteByte('\n')
	b.Write(canonicalPayload)
	return b.Bytes()
}

// Sign builds a record of the given type from payload (any JSON-marshalable
// value), canonicalises the payload and signs it with key.
func Sign(key *Key, id, typ string, version int, payload any) (*Record, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode payload: %w", err)
	}
	c, err := Canonical(raw)
	if err != nil {
		return nil, fmt.Errorf("canonicalise payload: %w", err)
	}
	r := &Record{ID: id, Type: typ, Version: version, KeyID: key.ID, Payload: c}
	r.Sig = ed25519.Sign(key.Private, SignedMessage(id, typ, version, key.ID, c))
	return r, nil
}

// Canonicalize replaces the payload by its canonical form; it fails if the
// payload is not valid JSON.
func (r *Record) Canonicalize() error {
	c, err := Canonical(r.Payload)
	if err != nil {
		return &FieldError{"payload", "not valid JSON: " + err.Error()}
	}
	r.Payload = c
	r.entry = nil
	return nil
}

// Verify checks the signature with the public key pub. The payload must be
// canonical already.
func (r *Record) Verify(pub ed25519.PublicKey) error {
	if !ed25519.Verify(pub, SignedMessage(r.ID, r.Type, r.Version, r.KeyID, r.Payload), r.Sig) {
		return ErrBadSignature
	}
	return nil
}

// Entry is the record's canonical JSON: the bytes stored in the log. It is
// computed once; a record must not be changed after it is signed (change
// one and call Canonicalize to recompute).
func (r *Record) Entry() ([]byte, error) {
	if r.entry != nil {
		return r.entry, nil
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	e, err := Canonical(raw)
	if err != nil {
		return nil, err
	}
	r.entry = e
	return e, nil
}

// Hash identifies the content of a record (used to tell a retry from a
// conflicting reuse of a record id).
func (r *Record) Hash() string {
	e, _ := r.Entry()
	h := sha256.Sum256(e)
	return hex.EncodeToString(h[:])
}

// ParseEntry decodes a log entry.
func ParseEntry(data []byte) (*Record, error) {
	var r Record
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	return &r, nil
}

// Key is an Ed25519 key pair with its key id.
type Key struct {
	ID      string
	Public  ed25519.PublicKey
	Private ed25519.PrivateKey // nil for a public key only
}

// KeyID derives the key id of a public key: the first 8 bytes of its
// SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// GenerateKey makes a new key pair.
func GenerateKey() (*Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &Key{ID: KeyID(pub), Public: pub, Private: priv}, nil
}

// KeyFromSeed makes a deterministic key pair from a 32-byte seed.
func KeyFromSeed(seed []byte) *Key {
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	return &Key{ID: KeyID(pub), Public: pub, Private: priv}
}

// MarshalPrivatePEM encodes the private key as PKCS #8 PEM.
func (k *Key) MarshalPrivatePEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicPEM encodes the public key as PKIX PEM.
func (k *Key) MarshalPublicPEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k.Public)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParseKeyPEM reads a private (PKCS #8) or public (PKIX) Ed25519 key.
func ParseKeyPEM(data []byte) (*Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		priv, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, errors.New("not an Ed25519 private key")
		}
		pub := priv.Public().(ed25519.PublicKey)
		return &Key{ID: KeyID(pub), Public: pub, Private: priv}, nil
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, errors.New("not an Ed25519 public key")
		}
		return &Key{ID: KeyID(pub), Public: pub}, nil
	}
	return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
}

// ReadKeyFile reads a key from a PEM file.
func ReadKeyFile(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// WriteKeyFiles writes the private key to path (mode 0600) and the public
// key to path+".pub". It refuses to overwrite an existing private key.
func WriteKeyFiles(k *Key, path string) error {
	priv, err := k.MarshalPrivatePEM()
	if err != nil {
		return err
	}
	pub, err := k.MarshalPublicPEM()
	if err != nil {
		return err
	}
	if _, err := os.Stat(path + ".pub"); err == nil {
		return fmt.Errorf("%s.pub already exists: refusing to overwrite a key", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(priv); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	pf, err := os.OpenFile(path+".pub", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := pf.Write(pub); err != nil {
		pf.Close()
		return err
	}
	return pf.Close()
}

// Commitment is a salted hash of a personal value. The log carries only the
// commitment; the value and salt travel beside the record and are kept in
// the access-controlled projection.
func Commitment(salt, value string) string {
	h := sha256.New()
	h.Write([]byte("corridor-private-v1\n"))
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(value))
	return hex.EncodeToString(h.Sum(nil))
}

// NewSalt returns a fresh random salt (32 hex characters).
func NewSalt() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// Opening reveals the value behind a commitment.
type Opening struct {
	Value string `json:"value"`
	Salt  string `json:"salt"`
}

// Seal makes a commitment to value and the opening that proves it.
func Seal(value string) (string, Opening) {
	o := Opening{Value: value, Salt: NewSalt()}
	return Commitment(o.Salt, o.Value), o
}

// ContentID names a record (or the thing it registers) by what it says
// and who says it: prefix and the first 12 hex digits of the SHA-256 of
// the party and the canonical JSON of v. Signing the same content again
// gives the same id, so that a retry is not a second record.
func ContentID(prefix, party string, v any) string {
	b, _ := json.Marshal(v)
	if c, err := Canonical(b); err == nil {
		b = c
	}
	h := sha256.Sum256(append([]byte(party+"\n"), b...))
	return prefix + "-" + hex.EncodeToString(h[:6])
}
