package main

import (
	"context"
	"io"
	"strings"

	"corridor"
	"corridor/record"
)

func init() {
	commands["reply"] = command{"reply, as a party a record names, to that record: acknowledge, dispute or correct it (client)", cmdReply}
}

func cmdReply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reply", stderr)
	o := addClientFlags(fs, true)
	o.byContent = true
	rec := fs.String("record", "", "the record id answered (its page and GET /api/v1/records show it)")
	kind := fs.String("kind", "", strings.Join(corridor.ReplyKinds, ", "))
	text := fs.String("text", "", "your reasons, or what should be read instead (required to dispute or correct)")
	lang := fs.String("lang", "", "the language of the text (en, hy, az, ru, ar, ...)")
	evidence := fs.String("evidence", "", "record ids you cite, comma-separated")
	files := fileFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireFlag("record", *rec); err != nil {
		return err
	}
	return o.submit(ctx, stdout, corridor.TypeReply, func(string) (any, map[string]record.Opening, error) {
		attached, private, err := files.attach(ctx, o)
		if err != nil {
			return nil, nil, err
		}
		return &corridor.Reply{Record: *rec, Kind: *kind, Text: *text, Lang: *lang, Evidence: splitList(*evidence), Files: attached}, private, nil
	})
}
