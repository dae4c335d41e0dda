package web

import (
	"context"

	"corridor/store"
)

// replyRow is a reply as a page shows it: by whom, in whose name signed.
type replyRow struct {
	store.ReplyRow
	PartyNames string
	Signer     signer
}

// replies reads the replies to the records at the given log indexes, for
// pages that show those records.
func (s *Server) replies(ctx context.Context, l *lookup, indexes []uint64) (map[uint64][]replyRow, error) {
	rows, err := s.node.Store().RepliesTo(ctx, indexes)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	var idx []uint64
	for _, rs := range rows {
		for _, r := range rs {
			idx = append(idx, r.LogIndex)
		}
	}
	sg, err := s.signers(ctx, l, idx)
	if err != nil {
		return nil, err
	}
	out := map[uint64][]replyRow{}
	for at, rs := range rows {
		for _, r := range rs {
			out[at] = append(out[at], replyRow{ReplyRow: r, PartyNames: l.party(r.Party), Signer: sg[r.LogIndex]})
		}
	}
	return out, nil
}
