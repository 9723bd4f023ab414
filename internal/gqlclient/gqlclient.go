// Package gqlclient posts GraphQL operations to a Bullpen server over
// HTTP, for the programs that drive one (cmd/bullpen-bench,
// cmd/bullpen-crash).
package gqlclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Error is an error the server answered with.
type Error struct {
	Message    string `json:"message"`
	Extensions struct {
		Code   string `json:"code"`
		Reason string `json:"reason"`
	} `json:"extensions"`
}

func (e *Error) Error() string { return e.Extensions.Code + ": " + e.Message }

// Code is the extensions.code of an error the server answered with, or ""
// for anything else (a transport error: the server is gone).
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Extensions.Code
	}
	return ""
}

// Post posts one operation to base+"/query" (base is http://host:port),
// with token as its bearer if not empty, and decodes data into out (if
// not nil). An error is an *Error when the server answered with one (one
// without a code gets NO_CODE: it is still an answer), else a transport
// or decoding error.
func Post(ctx context.Context, hc *http.Client, base, token, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/query", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err // cut off mid-answer: the server died
	}
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []*Error        `json:"errors"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("HTTP %d: %w: %.200s", resp.StatusCode, err, raw)
	}
	if len(r.Errors) > 0 {
		if r.Errors[0].Extensions.Code == "" {
			r.Errors[0].Extensions.Code = "NO_CODE"
		}
		return r.Errors[0]
	}
	if out != nil {
		return json.Unmarshal(r.Data, out)
	}
	return nil
}
