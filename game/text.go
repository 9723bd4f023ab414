package game

import (
	"strings"
	"unicode"
)

// lineBreaks are the control characters a multi-line text may hold.
const lineBreaks = "\n\r"

// checkText returns a BAD_USER_INPUT error naming field when s holds a
// control character other than those in allowed, or a bidi control.
//
// Names and descriptions are shown to other people, in pages, terminals,
// logs and CSV files: a NUL or an escape sequence can cut or restyle what
// a reader sees there. Bidirectional overrides and isolates reorder the
// text around them ("cup\u202Egpj.exe" reads as "cupexe.jpg"), so they
// are refused too. Other format characters stay allowed: a zero-width
// joiner holds emoji such as 👩‍💻 together.
func checkText(field, s, allowed string) error {
	pos := 0
	for _, r := range s {
		pos++
		if isBidiControl(r) {
			return Invalid(field, "must not contain bidirectional control characters (U+%04X at character %d)", r, pos)
		}
		if unicode.IsControl(r) && !strings.ContainsRune(allowed, r) {
			what := "control characters"
			if allowed != "" {
				what = "control characters other than line breaks"
			}
			return Invalid(field, "must not contain %s (U+%04X at character %d)", what, r, pos)
		}
	}
	return nil
}

// isBidiControl reports the explicit bidirectional formatting characters
// of Unicode's bidi algorithm (UAX #9): marks, embeddings, overrides and
// isolates.
func isBidiControl(r rune) bool {
	switch {
	case r == '\u061C', r == '\u200E', r == '\u200F':
		return true
	case r >= '\u202A' && r <= '\u202E':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}
