// Package scalar implements Bullpen's GraphQL scalars: ID as a 64-bit
// integer, Time as RFC 3339 with milliseconds in UTC, and Decimal as an
// exact decimal carried in a JSON string.
package scalar

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/shopspring/decimal"

	"github.com/bullpen/bullpen/game"
)

// TimeFormat is how every Time leaves the server.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// MarshalID64 writes an int64 ID as a GraphQL ID (a JSON string).
func MarshalID64(id int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(strconv.FormatInt(id, 10)))
	})
}

// UnmarshalID64 reads an ID given as a string or an integer.
func UnmarshalID64(v any) (int64, error) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	case json.Number:
		s = v.String()
	default:
		return 0, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("ID: %T is not an ID", v)}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("ID: %q is not a valid ID", s)}
	}
	return id, nil
}

// MarshalTime writes t in UTC with milliseconds.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(TimeFormat)))
	})
}

// UnmarshalTime reads an RFC 3339 time.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Time: %T is not an RFC 3339 string", v)}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Time: %q is not an RFC 3339 time", s)}
	}
	return t.UTC(), nil
}

// FormatDecimal renders d exactly, with at least two decimal places.
func FormatDecimal(d decimal.Decimal) string {
	if d.Equal(d.Truncate(2)) {
		return d.StringFixed(2)
	}
	return d.String()
}

// MarshalDecimal writes d as a JSON string.
func MarshalDecimal(d decimal.Decimal) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(FormatDecimal(d)))
	})
}

// UnmarshalDecimal reads a decimal from a string or an integer. Floats are
// refused: a JSON number with a fraction has already lost exactness.
func UnmarshalDecimal(v any) (decimal.Decimal, error) {
	var s string
	switch v := v.(type) {
	case string:
		s = strings.TrimSpace(v)
	case int:
		return decimal.NewFromInt(int64(v)), nil
	case int64:
		return decimal.NewFromInt(v), nil
	case json.Number:
		s = v.String()
		if strings.ContainsAny(s, ".eE") {
			return decimal.Decimal{}, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Decimal: %s must be sent as a string to stay exact", s)}
		}
	default:
		return decimal.Decimal{}, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Decimal: %T is not a decimal; send a string such as \"12.34\"", v)}
	}
	if s == "" || len(s) > 40 || strings.ContainsAny(s, "eE") {
		return decimal.Decimal{}, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Decimal: %q is not a decimal such as \"12.34\"", s)}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Decimal: %q is not a decimal such as \"12.34\"", s)}
	}
	return d, nil
}
