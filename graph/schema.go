package graph

import "strings"

// SDL returns the GraphQL schema (schema.graphqls) served at /schema.graphql.
func SDL() string {
	var b strings.Builder
	for _, s := range sources {
		b.WriteString(s.Input)
	}
	return b.String()
}
