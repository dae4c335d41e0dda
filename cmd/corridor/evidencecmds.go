package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"corridor"
	"corridor/client"
	"corridor/record"
)

// listFlag is a flag that may be given many times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// fileOpts are the flags that attach evidence files to a record.
type fileOpts struct{ public, restricted listFlag }

func fileFlags(fs *flag.FlagSet) *fileOpts {
	f := &fileOpts{}
	fs.Var(&f.public, "file", "attach an evidence file (photo, PDF, text), as PATH or PATH=CAPTION; may be repeated; metadata such as GPS is stripped before it is stored")
	fs.Var(&f.restricted, "restricted-file", "attach a file that must not be published (a face, a plate), as PATH or PATH=CAPTION: the public log holds only a commitment to it")
	return f
}

// attach uploads the files and returns what the record carries, with the
// openings of the restricted ones. Salts are derived from the signing key
// and the file, so that running the command again is a retry.
func (f *fileOpts) attach(ctx context.Context, o *clientOpts) ([]corridor.Attachment, map[string]record.Opening, error) {
	if len(f.public)+len(f.restricted) == 0 {
		return nil, nil, nil
	}
	if n := len(f.public) + len(f.restricted); n > corridor.MaxFiles {
		return nil, nil, usagef("-file: %d files; a record carries at most %d", n, corridor.MaxFiles)
	}
	c, err := o.client()
	if err != nil {
		return nil, nil, err
	}
	var out []corridor.Attachment
	var private map[string]record.Opening
	for i, arg := range append(append([]string{}, f.public...), f.restricted...) {
		restricted := i >= len(f.public)
		name := map[bool]string{false: "-file", true: "-restricted-file"}[restricted]
		path, caption, _ := strings.Cut(arg, "=")
		fi, err := os.Stat(path)
		if err != nil {
			return nil, nil, usagef("%s %s: %v", name, path, err)
		}
		if fi.Size() > corridor.MaxFileSize {
			return nil, nil, usagef("%s %s: %d bytes; a file may be at most %d (20 MB)", name, path, fi.Size(), corridor.MaxFileSize)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, err
		}
		up, err := c.Upload(ctx, data, "")
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", name, path, err)
		}
		a := corridor.Attachment{SHA256: up.SHA256, MediaType: up.MediaType, Size: up.Size, Caption: strings.TrimSpace(caption)}
		if restricted {
			salt := client.KeyedSalt(o.signingKey, "evidence-file")("sha256", 0, up.SHA256)
			a.SHA256, a.Commitment = "", record.Commitment(salt, up.SHA256)
			if private == nil {
				private = map[string]record.Opening{}
			}
			private[a.Commitment] = record.Opening{Value: up.SHA256, Salt: salt}
		}
		out = append(out, a)
	}
	return out, private, nil
}
