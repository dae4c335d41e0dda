package web_test

import (
	"os"
	"strings"
	"testing"
)

func TestDump(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	e := newEnv(t)
	c := e.client()
	for _, p := range []string{"/", "/routes/lachin-corridor", "/convoys/am-2023-07", "/claims", "/settlements/karabakh", "/data", "/signin"} {
		code, body := e.get(c, p)
		os.WriteFile("/tmp/dump/"+strings.ReplaceAll(strings.Trim(p, "/"), "/", "_")+".html", []byte(body), 0o644)
		t.Logf("%s %d %d bytes", p, code, len(body))
	}
	t.Log(e.logs.String())
}
