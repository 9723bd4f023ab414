// Package scalar implements Bullpen's GraphQL scalars: ID as a 64-bit
// integer, Time as RFC 3339 with milliseconds in UTC, Decimal as an exact
// decimal carried in a JSON string, and Int as the spec's 32-bit integer,
// coerced as strictly as the spec says.
package scalar

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"regexp"
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

// UnmarshalID64 reads an ID given as a string or an integer: the digits
// of a positive 64-bit integer as the server writes them, with no sign,
// space or leading zero.
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
		return 0, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("ID: %s is not an ID", describe(v))}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 || strconv.FormatInt(id, 10) != s {
		return 0, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("ID: %q is not a valid ID", s)}
	}
	return id, nil
}

// MarshalInt and MarshalInt64 write an Int as gqlgen does.
func MarshalInt(i int) graphql.Marshaler     { return graphql.MarshalInt(i) }
func MarshalInt64(i int64) graphql.Marshaler { return graphql.MarshalInt64(i) }

// UnmarshalInt reads a GraphQL Int as the spec's input coercion does: an
// integer (a literal, or a JSON number in variables), whole, within 32
// bits. A string is refused, even "5": gqlgen's own Int reads it.
func UnmarshalInt(v any) (int, error) {
	n, err := unmarshalInt(v)
	return int(n), err
}

// UnmarshalInt64 reads an Int into an int64 field under the same rules:
// the Go type is wider, the GraphQL type is not.
func UnmarshalInt64(v any) (int64, error) {
	return unmarshalInt(v)
}

// IntRange is what every Int error says an Int is.
const IntRange = "a whole number from -2147483648 to 2147483647 (GraphQL's Int is 32-bit)"

// IntOutOfRange is the message for an integer beyond an Int's range.
func IntOutOfRange(raw string) string {
	return fmt.Sprintf("Int: %s is out of range: an Int is %s", raw, IntRange)
}

func unmarshalInt(v any) (int64, error) {
	var n int64
	switch x := v.(type) {
	case nil:
		return 0, nil // gqlgen passes null only where it is allowed
	case int, int8, int16, int32, int64:
		n = reflect.ValueOf(x).Int()
	case json.Number:
		var err error
		if n, err = strconv.ParseInt(string(x), 10, 64); err != nil {
			if _, ok := new(big.Int).SetString(string(x), 10); ok {
				return 0, &game.Error{Code: game.EINVALID, Message: IntOutOfRange(string(x))}
			}
			return 0, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Int: %s is not %s", x, IntRange)}
		}
	case float64:
		// A JSON number decoded without UseNumber: whole ones only.
		if x != math.Trunc(x) || math.IsInf(x, 0) {
			return 0, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Int: %v is not %s", x, IntRange)}
		}
		if x < math.MinInt32 || x > math.MaxInt32 {
			return 0, &game.Error{Code: game.EINVALID, Message: IntOutOfRange(strconv.FormatFloat(x, 'f', -1, 64))}
		}
		n = int64(x)
	case string:
		return 0, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Int: the string %q is not an Int; send %s, without quotes", x, IntRange)}
	default:
		return 0, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Int: %s is not an Int; send %s", describe(v), IntRange)}
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, &game.Error{Code: game.EINVALID, Message: IntOutOfRange(strconv.FormatInt(n, 10))}
	}
	return n, nil
}

// describe names the JSON kind of v for an error.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case float32, float64:
		return "a number with a fraction"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
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
		return time.Time{}, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Time: %s is not an RFC 3339 string", describe(v))}
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

// decimalRE is the one form a Decimal string takes: an optional '-',
// digits, and optionally '.' and more digits. No '+', no spaces, no
// exponent, no bare ".5" or "5.": what a client sends is exactly what it
// means, and reads back the same.
var decimalRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// UnmarshalDecimal reads a decimal from a string (see decimalRE) or an
// integer. Floats are refused: a JSON number with a fraction has already
// lost exactness.
func UnmarshalDecimal(v any) (decimal.Decimal, error) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
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
		return decimal.Decimal{}, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Decimal: %s is not a decimal; send a string such as \"12.34\"", describe(v))}
	}
	if len(s) > 40 {
		return decimal.Decimal{}, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Decimal: %q is longer than 40 characters", s[:40]+"…")}
	}
	if !decimalRE.MatchString(s) {
		return decimal.Decimal{}, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Decimal: %q is not a decimal such as \"12.34\" or \"-5\": digits, an optional leading '-' and an optional fraction after '.', with no '+', space or exponent", s)}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, &game.Error{Code: game.EINVALID, Message: fmt.Sprintf("Decimal: %q is not a decimal such as \"12.34\"", s)}
	}
	return d, nil
}
