package market

import "github.com/shopspring/decimal"

// catalogue is the built-in instrument list, sorted by symbol at init.
// Reference prices are realistic round-number levels, not live quotes.
var catalogue = func() []Instrument {
	rows := []struct{ symbol, name, ref string }{
		{"AAPL", "Apple Inc.", "189.50"},
		{"AMD", "Advanced Micro Devices, Inc.", "160.20"},
		{"AMZN", "Amazon.com, Inc.", "178.25"},
		{"BA", "The Boeing Company", "185.40"},
		{"BAC", "Bank of America Corporation", "38.90"},
		{"CSCO", "Cisco Systems, Inc.", "49.80"},
		{"DIS", "The Walt Disney Company", "101.30"},
		{"GOOGL", "Alphabet Inc.", "165.40"},
		{"IBM", "International Business Machines Corporation", "185.60"},
		{"INTC", "Intel Corporation", "31.20"},
		{"JNJ", "Johnson & Johnson", "152.70"},
		{"JPM", "JPMorgan Chase & Co.", "198.90"},
		{"KO", "The Coca-Cola Company", "62.40"},
		{"MA", "Mastercard Incorporated", "455.10"},
		{"MCD", "McDonald's Corporation", "270.30"},
		{"META", "Meta Platforms, Inc.", "485.60"},
		{"MSFT", "Microsoft Corporation", "420.55"},
		{"NFLX", "Netflix, Inc.", "610.80"},
		{"NKE", "NIKE, Inc.", "94.10"},
		{"NVDA", "NVIDIA Corporation", "118.40"},
		{"ORCL", "Oracle Corporation", "125.70"},
		{"PEP", "PepsiCo, Inc.", "170.20"},
		{"PG", "The Procter & Gamble Company", "165.90"},
		{"QQQ", "Invesco QQQ Trust", "445.20"},
		{"SBUX", "Starbucks Corporation", "78.60"},
		{"SPY", "SPDR S&P 500 ETF Trust", "520.35"},
		{"T", "AT&T Inc.", "17.45"},
		{"TSLA", "Tesla, Inc.", "182.60"},
		{"V", "Visa Inc.", "275.40"},
		{"VZ", "Verizon Communications Inc.", "40.15"},
		{"WMT", "Walmart Inc.", "60.25"},
		{"XOM", "Exxon Mobil Corporation", "115.30"},
	}
	out := make([]Instrument, len(rows))
	for i, r := range rows {
		out[i] = Instrument{Symbol: r.symbol, Name: r.name, Reference: decimal.RequireFromString(r.ref)}
	}
	sortInstruments(out)
	return out
}()

// Catalogue returns the built-in instruments (well-known US tickers) with
// their company names and realistic reference prices, sorted by symbol.
// Returns a fresh copy each call.
func Catalogue() []Instrument {
	out := make([]Instrument, len(catalogue))
	copy(out, catalogue)
	return out
}
