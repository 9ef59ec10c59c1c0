package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/omstil/omstil/ari/ariclient"
	"github.com/omstil/omstil/server"
	"github.com/omstil/omstil/settings"
)

// TestFenceStopsARICommands: a fence closes every ARI client of the call
// handling at once, so that no later command reaches Asterisk, and no
// call handling can start after it.
func TestFenceStopsARICommands(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	pbx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ping":"pong","timestamp":"2026-12-07T10:00:00.000+0000","asterisk_id":"x"}`))
	}))
	defer pbx.Close()
	newClient := func() *ariclient.Client {
		c, err := ariclient.New(ariclient.Config{URL: pbx.URL + "/ari", User: "omstil", Apps: []string{"omstil"}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	n := newNode(settings.Settings{}, nil, nil, nil, server.Options{})
	c := newClient()
	if err := n.admit(c); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Ping(ctx); err != nil || requests.Load() != 1 {
		t.Fatalf("before the fence: %v, %d requests", err, requests.Load())
	}
	n.onFence(errors.New("lock connection lost"))
	if _, err := c.Ping(ctx); !errors.Is(err, ariclient.ErrClosed) || requests.Load() != 1 {
		t.Fatalf("after the fence: %v, %d requests", err, requests.Load())
	}
	if err := n.admit(newClient()); err == nil {
		t.Fatal("call handling admitted after the fence")
	}
	select {
	case <-n.fenced:
	default:
		t.Fatal("the fence was not reported to serve")
	}
}

func TestAdvertiseURL(t *testing.T) {
	t.Parallel()
	host, _ := os.Hostname()
	cases := []struct {
		setting, listen, want string
	}{
		{"http://10.0.0.5:8080/", "127.0.0.1:0", "http://10.0.0.5:8080"},
		{"", "127.0.0.1:0", "http://127.0.0.1:"},
		{"", "0.0.0.0:0", "http://" + host + ":"},
	}
	for _, c := range cases {
		ln, err := net.Listen("tcp", c.listen)
		if err != nil {
			t.Fatal(err)
		}
		got, err := advertiseURL(settings.Settings{AdvertiseURL: c.setting}, ln)
		ln.Close()
		if err != nil || !strings.HasPrefix(got, c.want) {
			t.Errorf("%q on %s: %q %v, want %q…", c.setting, c.listen, got, err, c.want)
		}
	}
}
