package ledger

// objects.go: where a log's public resources are read from. A POSIX log
// keeps them as files in its folder; a log on Tessera's AWS driver keeps
// them as objects in an S3 bucket (under an optional prefix). Everything
// that reads a log (entries, proofs, verification, the public /log/) goes
// through objects, so it reads both the same way.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/transparency-dev/tessera/api/layout"
)

// objects reads a log's resources by their C2SP tlog-tiles path.
type objects interface {
	// get returns the resource at p; an error wrapping fs.ErrNotExist
	// when there is none.
	get(ctx context.Context, p string) ([]byte, error)
	// modTime returns when the resource at p was last written.
	modTime(ctx context.Context, p string) (time.Time, error)
	// treeState returns tessera's integrated size and root where the
	// driver keeps them beside the resources (the POSIX driver's
	// .state/treeState); an error wrapping fs.ErrNotExist elsewhere.
	treeState() (uint64, []byte, error)
	// String names the place, for messages.
	String() string
}

// dirObjects is a POSIX log folder.
type dirObjects string

func (d dirObjects) get(ctx context.Context, p string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(string(d), filepath.FromSlash(p)))
}

func (d dirObjects) modTime(_ context.Context, p string) (time.Time, error) {
	fi, err := os.Stat(filepath.Join(string(d), filepath.FromSlash(p)))
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

func (d dirObjects) treeState() (uint64, []byte, error) {
	return readTreeStateFile(filepath.Join(string(d), stateDirName, treeStateName))
}

func (d dirObjects) String() string { return string(d) }

// maxObjectSize bounds what is read of one object: the largest C2SP
// resource is a full entry bundle of 256 entries of at most 64 KiB each.
const maxObjectSize = 256*(MaxEntrySize+2) + 1

// s3Objects is a bucket (and prefix) of an S3-compatible store.
type s3Objects struct {
	client *s3.Client
	bucket string
	prefix string // "" or ending in "/"
}

func (o s3Objects) key(p string) string { return o.prefix + p }

func (o s3Objects) get(ctx context.Context, p string) ([]byte, error) {
	out, err := o.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(o.key(p))})
	if err != nil {
		return nil, o.wrap(p, err)
	}
	defer out.Body.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(out.Body, maxObjectSize)); err != nil {
		return nil, fmt.Errorf("reading s3://%s/%s: %w", o.bucket, o.key(p), err)
	}
	if b.Len() >= maxObjectSize {
		return nil, fmt.Errorf("s3://%s/%s is larger than any log resource (%d bytes)", o.bucket, o.key(p), maxObjectSize)
	}
	return b.Bytes(), nil
}

func (o s3Objects) modTime(ctx context.Context, p string) (time.Time, error) {
	out, err := o.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(o.key(p))})
	if err != nil {
		return time.Time{}, o.wrap(p, err)
	}
	if out.LastModified == nil {
		return time.Time{}, fmt.Errorf("s3://%s/%s: the store gives no modification time", o.bucket, o.key(p))
	}
	return *out.LastModified, nil
}

func (o s3Objects) treeState() (uint64, []byte, error) {
	return 0, nil, fmt.Errorf("the tree state of an S3 log is kept in its database: %w", fs.ErrNotExist)
}

func (o s3Objects) String() string { return "s3://" + o.bucket + "/" + o.prefix }

// wrap makes a missing object match fs.ErrNotExist and names the object.
func (o s3Objects) wrap(p string, err error) error {
	var nsk interface{ ErrorCode() string }
	var resp interface{ HTTPStatusCode() int }
	if errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusNotFound ||
		errors.As(err, &nsk) && (nsk.ErrorCode() == "NoSuchKey" || nsk.ErrorCode() == "NotFound") {
		return fmt.Errorf("s3://%s/%s: %w", o.bucket, o.key(p), fs.ErrNotExist)
	}
	return fmt.Errorf("s3://%s/%s: %w", o.bucket, o.key(p), err)
}

// checkBucket fails with a message a person can act on when the bucket
// does not exist or the credentials do not open it.
func (o s3Objects) checkBucket(ctx context.Context, endpoint string) error {
	_, err := o.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(o.bucket)})
	if err == nil {
		return nil
	}
	where := "the object store"
	if endpoint != "" {
		where = "the object store at " + endpoint
	}
	var resp interface{ HTTPStatusCode() int }
	var api smithy.APIError
	switch {
	case errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusNotFound:
		return fmt.Errorf("log: bucket %q does not exist in %s: create it, or name the right one in --log", o.bucket, where)
	case errors.As(err, &resp) && (resp.HTTPStatusCode() == http.StatusForbidden || resp.HTTPStatusCode() == http.StatusUnauthorized):
		return fmt.Errorf("log: %s refuses these credentials for bucket %q (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY): %v", where, o.bucket, err)
	case errors.As(err, &api):
		return fmt.Errorf("log: %s answered %s for bucket %q: %v", where, api.ErrorCode(), o.bucket, err)
	}
	return fmt.Errorf("log: cannot reach %s for bucket %q: %w", where, o.bucket, err)
}

// fetcher reads the C2SP resources, falling back from a partial tile or
// bundle to the full one (the partial is removed once the tile fills).
type fetcher struct{ o objects }

func (f fetcher) ReadCheckpoint(ctx context.Context) ([]byte, error) {
	return f.o.get(ctx, layout.CheckpointPath)
}

func (f fetcher) ReadTile(ctx context.Context, l, i uint64, p uint8) ([]byte, error) {
	return f.partialOrFull(ctx, p, func(p uint8) string { return layout.TilePath(l, i, p) })
}

func (f fetcher) ReadEntryBundle(ctx context.Context, i uint64, p uint8) ([]byte, error) {
	return f.partialOrFull(ctx, p, func(p uint8) string { return layout.EntriesPath(i, p) })
}

func (f fetcher) partialOrFull(ctx context.Context, p uint8, path func(uint8) string) ([]byte, error) {
	raw, err := f.o.get(ctx, path(p))
	if p > 0 && errors.Is(err, fs.ErrNotExist) {
		return f.o.get(ctx, path(0))
	}
	return raw, err
}
