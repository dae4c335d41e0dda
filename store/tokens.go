package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ErrBadToken is returned for a token that is unknown or revoked.
var ErrBadToken = errors.New("unknown or revoked token")

// Token describes an issued API token (never the secret itself).
type Token struct {
	ID      string `json:"id"`
	Party   string `json:"party"`
	Label   string `json:"label"`
	Created string `json:"created_at"`
	Revoked string `json:"revoked_at,omitempty"`
}

func tokenHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// IssueToken creates a token for a member of party and returns the secret,
// which is shown once and stored only as a hash.
func (s *Store) IssueToken(ctx context.Context, party, label string) (string, Token, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Token{}, err
	}
	secret := "corridor_" + base64.RawURLEncoding.EncodeToString(b[:])
	h := tokenHash(secret)
	t := Token{ID: h[:12], Party: party, Label: label, Created: time.Now().UTC().Format(time.RFC3339)}
	if _, err := s.exec(ctx, `INSERT INTO tokens (hash, id, party, label, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, '')`,
		h, t.ID, t.Party, t.Label, t.Created); err != nil {
		return "", Token{}, fmt.Errorf("store token: %w", err)
	}
	return secret, t, nil
}

// TokenParty returns the party a live token belongs to.
func (s *Store) TokenParty(ctx context.Context, secret string) (string, error) {
	var party, revoked string
	err := s.queryRow(ctx, `SELECT party, revoked_at FROM tokens WHERE hash = ?`, tokenHash(secret)).Scan(&party, &revoked)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && revoked != "") {
		return "", ErrBadToken
	}
	return party, err
}

// RevokeToken revokes a token by its id.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at = ''`, time.Now().UTC().Format(time.RFC3339), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %q: %w (or already revoked)", id, ErrNotFound)
	}
	return nil
}

// Tokens lists the tokens issued, optionally for one party.
func (s *Store) Tokens(ctx context.Context, party string) ([]Token, error) {
	rows, err := s.query(ctx, `SELECT id, party, label, created_at, revoked_at FROM tokens WHERE (? = '' OR party = ?) ORDER BY created_at, id`, party, party)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		if err := rows.Scan(&t.ID, &t.Party, &t.Label, &t.Created, &t.Revoked); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
