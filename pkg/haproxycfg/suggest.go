package haproxycfg

import "sort"

// haproxy (since 2.4) follows "unknown keyword" messages with a guess:
// "; did you mean 'maxconn' maybe ?". It compares words by the character
// transitions they contain: each word is reduced to counts of (class,
// next class) pairs, where a class is one of the 26 letters (case
// folded), "digit" or "other" (which also marks the start and the end of
// the word), plus the set of classes present; the distance between two
// words is the sum of the absolute differences of those counts. The
// closest candidate wins (the first one on ties), unless its distance is
// more than twice the length of either word.

const (
	fpDigit = 27
	fpOther = 28 // also the word's start and end
)

type fingerprint map[int]int

func charClass(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 1
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 1
	case c >= '0' && c <= '9':
		return fpDigit
	}
	return fpOther
}

func wordFingerprint(w string) fingerprint {
	fp := fingerprint{}
	from := fpOther
	for i := 0; i < len(w); i++ {
		to := charClass(w[i])
		fp[to] = 1 // presence, kept apart from the pairs (from >= 1)
		fp[32*from+to]++
		from = to
	}
	fp[32*from+fpOther]++
	return fp
}

func fingerprintDistance(a, b fingerprint) int {
	d := 0
	for k, v := range a {
		d += abs(v - b[k])
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			d += v
		}
	}
	return d
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func init() {
	// The TLS bind options live in a list `haproxy -dKcfg` does not print;
	// add whatever the keyword table knows that the dump lacked.
	have := map[string]bool{}
	for _, w := range suggestBind {
		have[w] = true
	}
	var extra []string
	for _, w := range names(CtxBind) {
		if !have[w] {
			extra = append(extra, w)
		}
	}
	sort.Strings(extra)
	suggestBind = append(suggestBind, extra...)
}

// suggest returns the candidate haproxy would propose for word, or "".
func suggest(word string, candidates []string) string {
	wfp := wordFingerprint(word)
	best, bestDist := "", -1
	for _, c := range candidates {
		d := fingerprintDistance(wfp, wordFingerprint(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || bestDist > 2*len(word) || bestDist > 2*len(best) {
		return ""
	}
	return best
}

// didYouMean is haproxy's hint suffix, or "" without a close candidate.
func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return "; did you mean '" + s + "' maybe ?"
	}
	return ""
}
