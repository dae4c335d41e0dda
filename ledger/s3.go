package ledger

// s3.go: the log on Tessera's AWS driver. A MySQL-compatible database
// sequences the entries (an entry is durable once it is committed there)
// and an S3-compatible object store holds the tiles, entry bundles and
// the checkpoint, integrated from the database about once a second.
// Several appenders may share one such log: the database's row locks
// order them, so the log cannot fork; corridor still lets only the holder
// of the writer lease append (see store.Lease), because the writer's
// validation state must see every record before the next is checked.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/go-sql-driver/mysql"
	taws "github.com/transparency-dev/tessera/storage/aws"
	"golang.org/x/mod/sumdb/note"
	"k8s.io/klog/v2"
)

// minS3CheckpointInterval is the AWS driver's minimum.
const minS3CheckpointInterval = time.Second

// Location says where a log lives: a POSIX folder (Dir) or a bucket of an
// S3-compatible store with a MySQL-compatible database (Bucket, DSN).
type Location struct {
	Dir string

	Bucket   string
	Prefix   string // "" or a path without leading or trailing "/"
	Endpoint string // "" for AWS itself
	Region   string
	DSN      string // go-sql-driver/mysql form
	dbShown  string // the database URL without its password
}

// S3 reports whether the log is on an object store.
func (l Location) S3() bool { return l.Bucket != "" }

// String is the location without secrets.
func (l Location) String() string {
	if !l.S3() {
		return l.Dir
	}
	s := "s3://" + l.Bucket
	if l.Prefix != "" {
		s += "/" + l.Prefix
	}
	q := url.Values{}
	if l.Endpoint != "" {
		q.Set("endpoint", l.Endpoint)
	}
	if l.dbShown != "" {
		q.Set("db", l.dbShown)
	}
	if enc := q.Encode(); enc != "" {
		s += "?" + enc
	}
	return s
}

var (
	bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	dbName     = regexp.MustCompile(`^[A-Za-z0-9_$]{1,64}$`)
)

// ParseLocation reads a --log value: a folder, or
//
//	s3://BUCKET[/PREFIX]?db=mysql://USER[:PASSWORD]@HOST:PORT/DATABASE[&endpoint=http://HOST:PORT][&region=REGION]
//
// The object store's credentials come from the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, or any source the AWS SDK
// reads), never from the URL. Errors name the part at fault.
func ParseLocation(s string) (Location, error) {
	if s == "" {
		return Location{}, errors.New("log location: empty")
	}
	if len(s) > 2048 {
		return Location{}, fmt.Errorf("log location: %d bytes, limit 2048", len(s))
	}
	if !strings.Contains(s, "://") {
		return Location{Dir: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return Location{}, fmt.Errorf("log location: %v", err)
	}
	if u.Scheme != "s3" {
		return Location{}, fmt.Errorf("log location: scheme %q: want a folder or s3://bucket?db=mysql://…", u.Scheme)
	}
	if u.User != nil {
		return Location{}, errors.New("log location: no credentials in the s3:// URL: give them as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	loc := Location{Bucket: u.Host, Region: "us-east-1"}
	if !bucketName.MatchString(loc.Bucket) || strings.Contains(loc.Bucket, "..") {
		return Location{}, fmt.Errorf("log location: bucket %q: want 3 to 63 lower-case letters, digits, dots or hyphens", loc.Bucket)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		for _, part := range strings.Split(p, "/") {
			if part == "" || part == "." || part == ".." {
				return Location{}, fmt.Errorf("log location: prefix %q: empty, \".\" or \"..\" part", p)
			}
		}
		loc.Prefix = p
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Location{}, fmt.Errorf("log location: query: %v", err)
	}
	for k, v := range q {
		if len(v) != 1 {
			return Location{}, fmt.Errorf("log location: %q given %d times", k, len(v))
		}
		switch k {
		case "endpoint":
			e, err := url.Parse(v[0])
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || e.User != nil || e.RawQuery != "" {
				return Location{}, fmt.Errorf("log location: endpoint %q: want http(s)://HOST[:PORT]", v[0])
			}
			loc.Endpoint = strings.TrimSuffix(v[0], "/")
		case "region":
			if !dbName.MatchString(strings.ReplaceAll(v[0], "-", "_")) {
				return Location{}, fmt.Errorf("log location: region %q: want a name such as eu-west-1", v[0])
			}
			loc.Region = v[0]
		case "db":
			if loc.DSN, loc.dbShown, err = mysqlDSN(v[0]); err != nil {
				return Location{}, fmt.Errorf("log location: db: %v", err)
			}
		default:
			return Location{}, fmt.Errorf("log location: unknown parameter %q (want endpoint, region, db)", k)
		}
	}
	if loc.DSN == "" {
		return Location{}, errors.New("log location: db: missing: an s3:// log needs its sequencing database, db=mysql://USER:PASSWORD@HOST:PORT/DATABASE")
	}
	return loc, nil
}

// mysqlDSN turns mysql://USER[:PASSWORD]@HOST:PORT/DATABASE into the
// driver's DSN, and gives the URL without the password for messages.
func mysqlDSN(s string) (dsn, shown string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", err
	}
	if u.Scheme != "mysql" {
		return "", "", fmt.Errorf("scheme %q: want mysql://USER:PASSWORD@HOST:PORT/DATABASE", u.Scheme)
	}
	if u.User == nil || u.User.Username() == "" {
		return "", "", errors.New("no user: want mysql://USER:PASSWORD@HOST:PORT/DATABASE")
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" || port == "" {
		return "", "", fmt.Errorf("host %q: want HOST:PORT", u.Host)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !dbName.MatchString(name) {
		return "", "", fmt.Errorf("database %q: want a name of letters, digits and _", name)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", "", errors.New("no parameters after the database name")
	}
	c := mysql.NewConfig()
	c.User = u.User.Username()
	c.Passwd, _ = u.User.Password()
	c.Net, c.Addr, c.DBName = "tcp", u.Host, name
	c.Timeout, c.ReadTimeout, c.WriteTimeout = 5*time.Second, 30*time.Second, 30*time.Second
	shownURL := url.URL{Scheme: "mysql", User: url.User(c.User), Host: u.Host, Path: "/" + name}
	return c.FormatDSN(), shownURL.String(), nil
}

// s3Client builds the S3 client of a location.
func s3Client(ctx context.Context, loc Location) (aws.Config, func(*s3.Options), error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(loc.Region))
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("log: object store configuration: %w", err)
	}
	opt := func(o *s3.Options) {
		if loc.Endpoint != "" {
			o.BaseEndpoint = aws.String(loc.Endpoint)
			o.UsePathStyle = true
		}
		// Only what the store needs: some S3-compatible stores refuse the
		// newer default checksums.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}
	return cfg, opt, nil
}

// underPrefix makes an S3 client keep every object it names under prefix
// (none if empty), after the options opt. The log is written this way
// rather than with Tessera's BucketPrefix because the AWS driver (v1.0.4)
// joins BucketPrefix twice when a conditional write finds its object
// already there, as after an answer from the store that was lost: it
// reads the object back under prefix/prefix/…, fails, and integrates no
// more entries. Keys in listings come back without the prefix.
func underPrefix(prefix string, opt func(*s3.Options)) func(*s3.Options) {
	if prefix == "" {
		return opt
	}
	add := func(k *string) *string {
		if k == nil {
			return nil
		}
		return aws.String(prefix + "/" + *k)
	}
	step := middleware.InitializeMiddlewareFunc("corridor-key-prefix", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		// Copies, so that a caller's input is never changed (and a retry
		// by the caller never prefixes twice).
		switch v := in.Parameters.(type) {
		case *s3.GetObjectInput:
			c := *v
			c.Key = add(v.Key)
			in.Parameters = &c
		case *s3.HeadObjectInput:
			c := *v
			c.Key = add(v.Key)
			in.Parameters = &c
		case *s3.PutObjectInput:
			c := *v
			c.Key = add(v.Key)
			in.Parameters = &c
		case *s3.DeleteObjectInput:
			c := *v
			c.Key = add(v.Key)
			in.Parameters = &c
		case *s3.DeleteObjectsInput:
			c := *v
			if v.Delete != nil {
				d := *v.Delete
				d.Objects = make([]types.ObjectIdentifier, len(v.Delete.Objects))
				for i, o := range v.Delete.Objects {
					o.Key = add(o.Key)
					d.Objects[i] = o
				}
				c.Delete = &d
			}
			in.Parameters = &c
		case *s3.ListObjectsV2Input:
			c := *v
			if v.Prefix != nil {
				c.Prefix = add(v.Prefix)
			} else {
				c.Prefix = aws.String(prefix + "/")
			}
			in.Parameters = &c
		}
		out, md, err := next.HandleInitialize(ctx, in)
		if l, ok := out.Result.(*s3.ListObjectsV2Output); ok && err == nil {
			for i := range l.Contents {
				if k := l.Contents[i].Key; k != nil {
					l.Contents[i].Key = aws.String(strings.TrimPrefix(*k, prefix+"/"))
				}
			}
		}
		return out, md, err
	})
	return func(o *s3.Options) {
		opt(o)
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(step, middleware.Before)
		})
	}
}

func (l Location) objects(ctx context.Context) (s3Objects, error) {
	cfg, opt, err := s3Client(ctx, l)
	if err != nil {
		return s3Objects{}, err
	}
	o := s3Objects{client: s3.NewFromConfig(cfg, opt), bucket: l.Bucket}
	if l.Prefix != "" {
		o.prefix = l.Prefix + "/"
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return o, o.checkBucket(cctx, l.Endpoint)
}

// pingDB fails with a clear message when the sequencing database cannot
// be reached or refuses the credentials.
func (l Location) pingDB(ctx context.Context) error {
	db, err := sql.Open("mysql", l.DSN)
	if err != nil {
		return fmt.Errorf("log: database %s: %w", l.dbShown, err)
	}
	defer db.Close()
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(cctx); err != nil {
		return fmt.Errorf("log: cannot open the sequencing database %s: %w", l.dbShown, err)
	}
	return nil
}

// OpenAt opens the log at loc for appending: Open for a folder, the AWS
// driver for an s3:// location. For the latter it checks the bucket and
// the database first (a clear error for a wrong bucket, credentials or
// address), then waits until every entry an earlier appender sequenced is
// integrated into the object store, so that Size and Entries cover all of
// the durable log before the caller replays it.
func OpenAt(ctx context.Context, loc Location, signer note.Signer, opts Options) (*Log, error) {
	if !loc.S3() {
		return Open(ctx, loc.Dir, signer, opts)
	}
	if signer == nil {
		return nil, errors.New("ledger: open: nil tree head signer")
	}
	opts = opts.withDefaults()
	if opts.CheckpointInterval < minS3CheckpointInterval {
		opts.CheckpointInterval = minS3CheckpointInterval
	}
	self, err := newSelfVerifier(signer)
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", loc, err)
	}
	o, err := loc.objects(ctx)
	if err != nil {
		return nil, err
	}
	if err := loc.pingDB(ctx); err != nil {
		return nil, err
	}
	cfg, s3opt, err := s3Client(ctx, loc)
	if err != nil {
		return nil, err
	}
	// The prefix is put on by the client, not by the driver's
	// BucketPrefix: see underPrefix.
	driver, err := taws.New(ctx, taws.Config{SDKConfig: &cfg, S3Options: underPrefix(loc.Prefix, s3opt), Bucket: loc.Bucket, DSN: loc.DSN, MaxOpenConns: 16, MaxIdleConns: 4})
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: aws driver: %w", loc, err)
	}
	l, err := startAppender(ctx, driver, objectFiles(o), signer, self, opts)
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", loc, err)
	}
	l.name, l.pollEvery = loc.String(), 100*time.Millisecond
	if _, err := l.Settle(ctx); err != nil {
		l.Close(ctx)
		return nil, err
	}
	return l, nil
}

// Settle waits until every sequenced entry is integrated (on the AWS
// driver integration follows sequencing by about a second) and returns
// the size. It logs progress when that takes long.
func (l *Log) Settle(ctx context.Context) (uint64, error) {
	start, last := time.Now(), time.Now()
	for {
		next, err := l.lr.NextIndex(ctx)
		if err != nil {
			return 0, fmt.Errorf("ledger: next index: %w", err)
		}
		size, err := l.Size(ctx)
		if err != nil {
			return 0, err
		}
		if size >= next {
			return size, nil
		}
		if time.Since(last) > 5*time.Second {
			klog.Infof("log: %d of %d sequenced entries integrated, waiting (%v)", size, next, time.Since(start).Round(time.Second))
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("ledger: waiting for %d sequenced entries to be integrated: %w", next-size, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// OpenPublished opens the published log at loc for reading only, as a
// read server does: no appender, no database, no signing key. Size is
// the published tree head's; Append answers ErrReadOnly. verifier checks
// the tree heads served.
func OpenPublished(ctx context.Context, loc Location, verifier note.Verifier) (*Log, error) {
	var o objects = dirObjects(loc.Dir)
	if loc.S3() {
		so, err := loc.objects(ctx)
		if err != nil {
			return nil, err
		}
		o = so
	}
	l := &Log{name: loc.String(), files: objectFiles(o), self: verifier, origin: verifier.Name(),
		stopped: make(chan struct{}), pollEvery: 100 * time.Millisecond,
		opts: Options{CheckpointInterval: minS3CheckpointInterval}.withDefaults()}
	l.shutdown = func(context.Context) error { return nil }
	l.cancel = func() {}
	return l, nil
}

// ErrReadOnly is returned by Append on a log opened with OpenPublished.
var ErrReadOnly = errors.New("ledger: log opened read-only")
