package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testParentEnv makes the test binary a bench parent that starts a traders
// process and waits on it (see TestMain and runTestParent).
const testParentEnv = "BULLPEN_BENCH_TEST_PARENT"

// closedURL is a loopback port nothing listens on: the traders' orders fail
// at once.
const closedURL = "http://127.0.0.1:1"

// longSpec's traders place their first order at once and the second in an
// hour, writing nothing in between (a write to a closed pipe would end
// them too, hiding whether they notice their parent's death).
func longSpec() traderSpec {
	return traderSpec{URL: closedURL, Symbol: "AAPL", Room: "1", Tokens: []string{"t"},
		Orders: 2, Rate: 1.0 / 3600, Duration: 2 * time.Hour, Drain: time.Second}
}

// runTestParent is the test binary as a bench parent: it runs a traders
// process until killed, and says on stderr once the child has reported its
// first order (it has read its spec and is under way).
func runTestParent() error {
	b := newBench(config{URLs: []string{closedURL}, Symbol: "AAPL"}, os.Stderr)
	log := newOrderLog(2)
	go func() {
		for log.results() == 0 {
			time.Sleep(time.Millisecond) // polling the child's progress
		}
		b.logf("first order reported")
	}()
	_, err := b.runTradersProcess(context.Background(), longSpec(), log)
	return err
}

// alive says whether pid is a process that has not exited (a zombie has).
func alive(t *testing.T, pid int) bool {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if os.IsNotExist(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// TestTradersProcessDiesWithParent kills a bench parent with SIGKILL,
// which gives it no chance to clean up, and expects the kernel to take its
// traders process too.
func TestTradersProcessDiesWithParent(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux's; elsewhere the child stops when its stdin closes")
	}
	parent := exec.Command(os.Args[0])
	parent.Env = append(os.Environ(), testParentEnv+"=1")
	stderr, err := parent.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parent.Process.Kill(); _ = parent.Wait() })
	child := 0
	sc := bufio.NewScanner(stderr)
	underWay := false
	for !underWay && sc.Scan() {
		if _, pid, ok := strings.Cut(sc.Text(), "traders run in process "); ok {
			if child, err = strconv.Atoi(pid); err != nil {
				t.Fatalf("pid in %q: %v", sc.Text(), err)
			}
		}
		underWay = strings.Contains(sc.Text(), "first order reported")
	}
	if child != 0 {
		t.Cleanup(func() {
			if p, err := os.FindProcess(child); err == nil && alive(t, child) {
				_ = p.Kill() // the test failed: leave no orphan
			}
		})
	}
	if child == 0 || !underWay {
		t.Fatalf("the parent's traders process never got under way (%v)", sc.Err())
	}
	go func() {
		for sc.Scan() { // drain, so that the parent never blocks on its log
		}
	}()
	if !alive(t, child) {
		t.Fatalf("traders process %d is not running", child)
	}
	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(t, child) {
		if time.Now().After(deadline) {
			t.Fatalf("traders process %d outlived its parent by 10s", child)
		}
		time.Sleep(10 * time.Millisecond) // waiting for another process to exit
	}
}

// TestTradersProcessStopsWhenStdinCloses: the portable way the child
// learns that its parent is gone.
func TestTradersProcessStopsWhenStdinCloses(t *testing.T) {
	cmd := exec.Command(os.Args[0], tradersCommand)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		waitErr error
		waited  = make(chan struct{}) // closed once the process is reaped
		reaping bool
	)
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if reaping {
			<-waited
		} else {
			_ = cmd.Wait()
		}
	})
	if err := json.NewEncoder(stdin).Encode(longSpec()); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatalf("no order line: %v", sc.Err())
	}
	var line tradersLine
	if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Order == nil {
		t.Fatalf("first line %q: %v", sc.Text(), err)
	}
	if o := line.Order; o.N != 0 || o.Outcome != "error" || o.ErrorKind != "transport" || o.SentNs <= 0 {
		t.Fatalf("order 0 against a closed port: %+v", o)
	}
	stdin.Close()
	reaping = true
	go func() {
		for sc.Scan() {
		}
		waitErr = cmd.Wait()
		close(waited)
	}()
	select {
	case <-waited:
		if waitErr == nil {
			t.Fatal("the traders process reported success for orders it never placed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the traders process still runs 10s after its stdin closed")
	}
}

func TestReadTraderLines(t *testing.T) {
	const filled = `{"order":{"n":%d,"sentNs":1700000000000000000,"us":900,"outcome":"filled"}}` + "\n"
	good := fmt.Sprintf(filled, 0) + `{"order":{"n":1,"outcome":"skipped"}}` + "\n" +
		`{"order":{"n":2,"sentNs":1700000000100000000,"us":500,"outcome":"error","errorKind":"transport","late":true}}` + "\n" +
		`{"summary":{"seconds":1.5,"results":3}}` + "\n"
	log := newOrderLog(3)
	sum, err := readTraderLines(strings.NewReader(good), log)
	if err != nil {
		t.Fatal(err)
	}
	o := log.finish(sum.Seconds, true)
	if o.Sent != 2 || o.Filled != 1 || o.Skipped != 1 || o.Errors != 1 || o.ErrorKind["transport"] != 1 || o.Late != 1 ||
		o.Seconds != 1.5 || o.Mutation.Count != 2 || !o.OwnProcess {
		t.Fatalf("report %+v", o)
	}
	if log.sent(0) != 1700000000000000000 || log.sent(1) != 0 || log.sent(2) != 1700000000100000000 || log.sent(3) != 0 {
		t.Fatalf("send times %v", log.sentNs)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"NoSummary", fmt.Sprintf(filled, 0), "without a summary"},
		{"Twice", fmt.Sprintf(filled, 0) + fmt.Sprintf(filled, 0), "twice"},
		{"OutOfRange", fmt.Sprintf(filled, 3), "out of range"},
		{"NoSendTime", `{"order":{"n":0,"outcome":"filled"}}` + "\n", "no send time"},
		{"SummaryMiscounts", fmt.Sprintf(filled, 0) + `{"summary":{"seconds":1,"results":2}}` + "\n", "summary counts 2"},
		{"NotJSON", "panic: oops\n", "bad line"},
		{"Neither", "{}\n", "bad line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readTraderLines(strings.NewReader(tc.in), newOrderLog(3))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
