package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Snapshot is what the server's /metrics says about its process.
type Snapshot struct {
	RSSBytes   int64   `json:"rssBytes"`
	Goroutines int64   `json:"goroutines"`
	CPUSeconds float64 `json:"cpuSeconds"`
	// OrdersPlaced: bullpen_orders_placed_total, every status summed.
	OrdersPlaced int64 `json:"ordersPlaced"`
}

// scrape reads process_resident_memory_bytes, go_goroutines and
// process_cpu_seconds_total from base/metrics.
func (b *bench) scrape(ctx context.Context, base string) (Snapshot, error) {
	var s Snapshot
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return s, err
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("%s/metrics: HTTP %d", base, resp.StatusCode)
	}
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if strings.HasPrefix(name, "bullpen_orders_placed_total{") {
			if f, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
				s.OrdersPlaced += int64(f)
			}
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			s.RSSBytes = int64(f)
		case "go_goroutines":
			s.Goroutines = int64(f)
		case "process_cpu_seconds_total":
			s.CPUSeconds = f
		default:
			continue
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if found < 3 {
		return s, fmt.Errorf("%s/metrics lacks process_resident_memory_bytes, go_goroutines or process_cpu_seconds_total", base)
	}
	return s, nil
}

// scrapeAll takes a snapshot of every instance.
func (b *bench) scrapeAll(ctx context.Context) ([]Snapshot, error) {
	out := make([]Snapshot, len(b.cfg.URLs))
	for i, u := range b.cfg.URLs {
		s, err := b.scrape(ctx, u)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}
