// Package client talks to a corridor server over HTTP: it submits signed
// records and reads the API. The CLI and the demo loader use it, so the
// scenario enters through the same door as any client.
package client

import (
	"bytes"
	"context"
	"corridor/wire"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client is a corridor API client.
type Client struct {
	Base  string // e.g. http://127.0.0.1:8420
	HTTP  *http.Client
	Token string // bearer token, if any
}

// New returns a client for the server at base.
func New(base string) *Client {
	return &Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 2 * time.Minute}}
}

// ProblemError is an error answer from the server.
type ProblemError struct {
	wire.Problem
	// RetryAfter is how long the server asked the client to wait before
	// trying again (a 503's Retry-After), or zero.
	RetryAfter time.Duration
}

func (e *ProblemError) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, e.Title)
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	for _, f := range e.Errors[min(1, len(e.Errors)):] { // the first is Field
		s += "; " + f.Field + ": " + f.Detail
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %v)", e.RetryAfter)
	}
	return s
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	return c.send(ctx, method, path, "application/json", body, out)
}

// Upload sends an evidence file (media type "" to let the server read it
// from the content). The answer is what a record carries to point to it.
func (c *Client) Upload(ctx context.Context, data []byte, mediaType string) (*wire.Uploaded, error) {
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	var out wire.Uploaded
	if err := c.send(ctx, http.MethodPost, "/api/v1/files", mediaType, data, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) send(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var p ProblemError
		if json.Unmarshal(data, &p.Problem) != nil || p.Status == 0 {
			p.Status, p.Title, p.Detail = resp.StatusCode, resp.Status, strings.TrimSpace(string(data))
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 && s <= 3600 {
			p.RetryAfter = time.Duration(s) * time.Second
		}
		return &p
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// Submit posts records in one batch and returns their log indices.
func (c *Client) Submit(ctx context.Context, subs []*wire.Submission) ([]wire.Result, error) {
	body, err := json.Marshal(map[string]any{"records": subs})
	if err != nil {
		return nil, err
	}
	var out struct {
		Results []wire.Result `json:"results"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/records", body, &out); err != nil {
		return nil, err
	}
	return out.Results, nil
}

// Get reads path (e.g. /api/v1/convoys) into out.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}
