// Package testcluster gives tests the engines scripts/cluster starts
// (MariaDB, an S3-compatible store, PostgreSQL), each test its own bucket
// and sequencing database, and skips, saying so, when they are not there.
package testcluster

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/go-sql-driver/mysql"

	"corridor/internal/skipped"
)

// Env is where the engines listen.
type Env struct {
	S3       string // endpoint, http://HOST:PORT
	MySQL    string // mysql://USER:PASSWORD@HOST:PORT/DATABASE
	Postgres string // postgres:// URL
}

// Get returns the engines, or skips the test (and says so once in go
// test's output) when scripts/cluster has not started them.
func Get(t testing.TB) Env {
	t.Helper()
	e := Env{S3: os.Getenv("CORRIDOR_CLUSTER_S3"), MySQL: os.Getenv("CORRIDOR_CLUSTER_MYSQL"), Postgres: os.Getenv("CORRIDOR_CLUSTER_POSTGRES")}
	if e.S3 == "" || e.MySQL == "" || e.Postgres == "" {
		skipped.Skip(t, "cluster tests (MariaDB, S3, PostgreSQL)", "CORRIDOR_CLUSTER_S3, CORRIDOR_CLUSTER_MYSQL and CORRIDOR_CLUSTER_POSTGRES are not set: scripts/cluster test runs them")
	}
	return e
}

func suffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestBucket holds the tests' logs, each under a prefix of its own (an
// S3-compatible store may give every bucket storage of its own).
const TestBucket = "corridor-tests"

// Log makes a new prefix in the test bucket and a new sequencing database
// and returns the --log location of an empty log in them.
func (e Env) Log(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := "t" + suffix()
	if err := e.CreateBucket(ctx, TestBucket); err != nil {
		t.Fatal(err)
	}
	db := e.NewDatabase(t, "corridor_"+name)
	q := url.Values{"endpoint": {e.S3}, "db": {db}}
	return "s3://" + TestBucket + "/" + name + "?" + q.Encode()
}

// S3Client is a client of the store with the environment's credentials.
func (e Env) S3Client(ctx context.Context) (*s3.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("us-east-1"))
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(e.S3)
		o.UsePathStyle = true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}), nil
}

// CreateBucket creates a bucket with the environment's credentials.
func (e Env) CreateBucket(ctx context.Context, bucket string) error {
	c, err := e.S3Client(ctx)
	if err != nil {
		return err
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err == nil {
		return nil
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		var owned *types.BucketAlreadyOwnedByYou
		if !errors.As(err, &owned) {
			return fmt.Errorf("create bucket %s: %w", bucket, err)
		}
	}
	// The store may take a moment before the new bucket answers.
	for i := 0; ; i++ {
		if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err == nil || i > 50 {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// NewDatabase creates a MariaDB database and returns its mysql:// URL.
func (e Env) NewDatabase(t testing.TB, name string) string {
	t.Helper()
	u, err := url.Parse(e.MySQL)
	if err != nil {
		t.Fatal(err)
	}
	c := mysql.NewConfig()
	c.User = u.User.Username()
	c.Passwd, _ = u.User.Password()
	c.Net, c.Addr, c.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	u.Path = "/" + name
	return u.String()
}
