package main

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// bridgeKlog sends Tessera's warnings and errors (it logs through klog)
// to w in our format, and drops its informational lines. klog hands a
// logger every line but errors as Info; with the formatted buffer it
// keeps the severity letter of its header (I, W, E, F), which is what
// the level is read from.
func bridgeKlog(w io.Writer) {
	lg := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	klog.SetLoggerWithOptions(logr.FromSlogHandler(lg.Handler()), klog.WriteKlogBuffer(func(b []byte) { klogLine(lg, b) }))
}

// klogLine logs one klog line ("W1203 12:00:00.000000   12345 file.go:12] msg").
func klogLine(lg *slog.Logger, b []byte) {
	line := strings.TrimRight(string(b), "\n")
	if line == "" {
		return
	}
	var level slog.Level
	switch line[0] {
	case 'W':
		level = slog.LevelWarn
	case 'E', 'F':
		level = slog.LevelError
	default:
		return // informational
	}
	msg, at := line, ""
	if i := strings.Index(line, "] "); i > 0 {
		head := strings.Fields(line[:i])
		if len(head) > 0 {
			at = head[len(head)-1]
		}
		msg = line[i+2:]
	}
	lg.Log(context.Background(), level, msg, "from", "tessera", "at", at)
}
