package ledger

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"corridor/internal/testcluster"
)

func TestParseLocation(t *testing.T) {
	good := "s3://corridor-log/prod?endpoint=http://127.0.0.1:8333&db=mysql://corridor:s3cret@127.0.0.1:3306/corridor"
	loc, err := ParseLocation(good)
	if err != nil {
		t.Fatal(err)
	}
	if !loc.S3() || loc.Bucket != "corridor-log" || loc.Prefix != "prod" || loc.Endpoint != "http://127.0.0.1:8333" {
		t.Errorf("parsed %+v", loc)
	}
	if !strings.Contains(loc.DSN, "corridor:s3cret@tcp(127.0.0.1:3306)/corridor") {
		t.Errorf("DSN %q", loc.DSN)
	}
	if strings.Contains(loc.String(), "s3cret") {
		t.Errorf("String shows the password: %s", loc)
	}
	if d, err := ParseLocation("/var/lib/corridor/log"); err != nil || d.S3() || d.Dir != "/var/lib/corridor/log" {
		t.Errorf("folder: %+v %v", d, err)
	}
	for in, field := range map[string]string{
		"":                                     "empty",
		"http://x/y":                           "scheme",
		"s3://AB?db=mysql://u@h:1/d":           "bucket",
		"s3://ok-bucket":                       "db: missing",
		"s3://ok-bucket?db=postgres://u@h:1/d": "db: scheme",
		"s3://ok-bucket?db=mysql://h:1/d":      "no user",
		"s3://ok-bucket?db=mysql://u@h/d":      "host",
		"s3://ok-bucket?db=mysql://u@h:1/d-x":  "database",
		"s3://ok-bucket?db=mysql://u@h:1/d&endpoint=ftp://x": "endpoint",
		"s3://ok-bucket?db=mysql://u@h:1/d&colour=red":       "unknown parameter",
		"s3://key:secret@ok-bucket?db=mysql://u@h:1/d":       "credentials",
		"s3://ok-bucket/a/../b?db=mysql://u@h:1/d":           "prefix",
	} {
		_, err := ParseLocation(in)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("ParseLocation(%q) = %v, want an error about %q", in, err, field)
		}
	}
}

func FuzzParseLocation(f *testing.F) {
	f.Add("s3://corridor-log/prod?endpoint=http://127.0.0.1:8333&db=mysql://corridor:pw@127.0.0.1:3306/corridor")
	f.Add("/var/lib/corridor/log")
	f.Add("s3://x?db=mysql://u@h:1/d&region=eu-west-1")
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseLocation(s)
		if err != nil {
			return
		}
		if loc.S3() {
			if loc.DSN == "" || !bucketName.MatchString(loc.Bucket) {
				t.Fatalf("accepted %q as %+v", s, loc)
			}
			if again, err := ParseLocation(loc.String()); err != nil || again.Bucket != loc.Bucket || again.Prefix != loc.Prefix {
				t.Fatalf("String %q of %q does not parse back: %v", loc.String(), s, err)
			}
		}
	})
}

// TestS3Log appends to a log on the AWS driver (MariaDB and an S3 store),
// reads it back, proves and verifies it, reopens it, and reads it as a
// read server does.
func TestS3Log(t *testing.T) {
	env := testcluster.Get(t)
	ctx := context.Background()
	loc, err := ParseLocation(env.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	s, v := testKeys(t)
	l, err := OpenAt(ctx, loc, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	es := makeEntries(0, 300)
	appendOK(t, l, es[:1])
	appendOK(t, l, es[1:])
	if err := l.WaitPublished(ctx, 299); err != nil {
		t.Fatal(err)
	}
	size, err := l.Settle(ctx)
	if err != nil || size != 300 {
		t.Fatalf("Settle = %d, %v; want 300", size, err)
	}
	got := readAll(t, size, l.Entries)
	for i := range es {
		if !bytes.Equal(got[i], es[i]) {
			t.Fatalf("entry %d read back as %q", i, got[i])
		}
	}
	_, th, root, err := l.TreeHead(ctx)
	if err != nil || th != 300 {
		t.Fatalf("tree head %d %v", th, err)
	}
	p, err := l.InclusionProof(ctx, 123, th)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 123, th, rfc6962.DefaultHasher.HashLeaf(es[123]), p, root); err != nil {
		t.Fatal(err)
	}
	closeTest(t, l)

	r, err := OpenReaderAt(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.VerifyTree(ctx, v); err != nil || n != 300 {
		t.Fatalf("VerifyTree = %d, %v", n, err)
	}

	// A second appender continues the same log.
	l2, err := OpenAt(ctx, loc, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if idx := appendOK(t, l2, makeEntries(300, 5)); idx[0] != 300 {
		t.Fatalf("reopened log appended at %d, want 300", idx[0])
	}
	if err := l2.WaitPublished(ctx, 304); err != nil {
		t.Fatal(err)
	}
	pub, err := OpenPublished(ctx, loc, v)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := pub.Size(ctx); err != nil || n != 305 {
		t.Fatalf("published size %d, %v; want 305", n, err)
	}
	if _, err := pub.Append(ctx, makeEntries(0, 1)); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Append on a published log: %v, want ErrReadOnly", err)
	}
	if raw, err := pub.ReadResource(ctx, "tile/entries/000"); err != nil || len(raw) == 0 {
		t.Fatalf("entry bundle from the store: %d bytes, %v", len(raw), err)
	}
	if _, err := pub.ReadResource(ctx, "tile/entries/999"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing bundle: %v, want ErrNotFound", err)
	}
	closeTest(t, l2)
}

// TestS3LogBadPlaces: a wrong bucket, wrong credentials or an unreachable
// database give an error at start that says which.
func TestS3LogBadPlaces(t *testing.T) {
	env := testcluster.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, _ := testKeys(t)
	good, err := ParseLocation(env.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	try := func(name, want string, loc Location) {
		t.Helper()
		l, err := OpenAt(ctx, loc, s, Options{})
		if err == nil {
			l.Close(ctx)
			t.Fatalf("%s: opened", name)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want it to say %q", name, err, want)
		}
	}
	nob := good
	nob.Bucket = "no-such-bucket-here"
	try("wrong bucket", `bucket "no-such-bucket-here" does not exist`, nob)

	nodb := good
	nodb.DSN, nodb.dbShown, _ = mysqlDSN("mysql://corridor:x@127.0.0.1:1/corridor")
	try("database unreachable", "cannot open the sequencing database mysql://corridor@127.0.0.1:1/corridor", nodb)

	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong") // restored when the test ends
	try("wrong credentials", "refuses these credentials", good)
}

// TestS3KeysUnderPrefix drives the client the AWS driver writes the log
// with on the real store: every key lands under the location's prefix
// once, including on the path the driver takes when a conditional write
// finds its object already there (which, with the driver's own
// BucketPrefix, read prefix/prefix/… and stopped the log integrating).
func TestS3KeysUnderPrefix(t *testing.T) {
	env := testcluster.Get(t)
	ctx := context.Background()
	if err := env.CreateBucket(ctx, testcluster.TestBucket); err != nil {
		t.Fatal(err)
	}
	raw, err := env.S3Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "keys-" + time.Now().Format("150405.000000")
	loc := Location{Bucket: testcluster.TestBucket, Prefix: prefix, Endpoint: env.S3, Region: "us-east-1"}
	cfg, opt, err := s3Client(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	c := s3.NewFromConfig(cfg, underPrefix(prefix, opt))
	bucket := aws.String(testcluster.TestBucket)
	put := &s3.PutObjectInput{Bucket: bucket, Key: aws.String("tile/0/000"), Body: bytes.NewReader([]byte("tile")), IfNoneMatch: aws.String("*")}
	if _, err := c.PutObject(ctx, put); err != nil {
		t.Fatal(err)
	}
	if *put.Key != "tile/0/000" {
		t.Errorf("the caller's input was changed: key %q", *put.Key)
	}
	got, err := raw.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String(prefix + "/tile/0/000")})
	if err != nil {
		t.Fatalf("the object is not at %s/tile/0/000: %v", prefix, err)
	}
	got.Body.Close()
	// Written again: refused, and read back where it is.
	put.Body = bytes.NewReader([]byte("tile"))
	_, err = c.PutObject(ctx, put)
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "PreconditionFailed" {
		t.Fatalf("second conditional write: %v, want PreconditionFailed", err)
	}
	back, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("tile/0/000")})
	if err != nil {
		t.Fatalf("reading back after the refused write: %v", err)
	}
	b, _ := io.ReadAll(back.Body)
	back.Body.Close()
	if string(b) != "tile" {
		t.Errorf("read back %q", b)
	}
	// Listed without the prefix, deleted by those names.
	l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("tile/")})
	if err != nil || len(l.Contents) != 1 || *l.Contents[0].Key != "tile/0/000" {
		t.Fatalf("listing: %v %+v", err, l)
	}
	if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: bucket, Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: l.Contents[0].Key}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String(prefix + "/tile/0/000")}); err == nil {
		t.Error("the object is still there after DeleteObjects")
	}
}
