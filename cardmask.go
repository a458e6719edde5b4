package sunlamp

import "strings"

// MaskCardNumbers returns text with every payment card number in it masked as the service does
// when an app's maskCreditCardNumbers setting is on: each digit but the last four becomes '*' and
// the separators inside the number go, so "my card is 4111 1111 1111 1111" becomes
// "my card is ************1111". (The service's output in zendesk/sunshine-conversations-web#676:
// "4501-0136-5373-6750-3770-..." came back as "************6750-3770-...".)
//
// A card number is 13 to 19 digits that pass the Luhn check, written in one piece or in groups
// separated by a single space or hyphen. Candidates start at the beginning of a group of digits
// and end at the end of one; among the candidates starting at one place the longest valid one is
// taken, and a run of groups holds at most one card number (the service masked only the first
// 16 digits of the 46 above). Digits joined to letters ("A4111111111111111") are not a card number; other text is
// left exactly as it was.
func MaskCardNumbers(text string) string {
	var b strings.Builder
	last := 0 // text[:last] is written to b
	for i := 0; i < len(text); {
		if !isDigit(text[i]) || (i > 0 && isWordByte(text[i-1])) {
			i++
			continue
		}
		// A run of digit groups starts at i: the groups' [start, end) offsets.
		groups := digitGroups(text, i)
		runEnd := groups[len(groups)-1][1]
		if runEnd < len(text) && isWordByte(text[runEnd]) {
			// The run is glued to a word: skip it whole.
			i = runEnd
			continue
		}
		for g := 0; g < len(groups); {
			end, n := longestCard(text, groups[g:])
			if n == 0 {
				g++
				continue
			}
			start := groups[g][0]
			b.WriteString(text[last:start])
			b.WriteString(strings.Repeat("*", n-4))
			b.WriteString(lastDigits(text[start:groups[g+end][1]], 4))
			last = groups[g+end][1]
			break // the rest of the run stays as it is, as the service leaves it
		}
		i = runEnd
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// digitGroups returns the groups of digits of the run starting at text[i]: digits, then as long as
// a single space or hyphen is followed by a digit, the next group.
func digitGroups(text string, i int) [][2]int {
	var groups [][2]int
	for {
		start := i
		for i < len(text) && isDigit(text[i]) {
			i++
		}
		groups = append(groups, [2]int{start, i})
		if i+1 < len(text) && (text[i] == ' ' || text[i] == '-') && isDigit(text[i+1]) {
			i++
			continue
		}
		return groups
	}
}

// longestCard returns the index of the last group and the digit count of the longest card number
// made of groups[0..k], or n == 0 when there is none.
func longestCard(text string, groups [][2]int) (last, n int) {
	digits := 0
	var buf []byte
	for k, g := range groups {
		digits += g[1] - g[0]
		if digits > 19 {
			break
		}
		buf = append(buf, text[g[0]:g[1]]...)
		if digits >= 13 && luhnValid(buf) {
			last, n = k, digits
		}
	}
	return last, n
}

// luhnValid reports whether digits pass the Luhn check.
func luhnValid(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// lastDigits returns the last n digits of s, which holds digits and separators.
func lastDigits(s string, n int) string {
	out := make([]byte, n)
	for i := len(s) - 1; i >= 0 && n > 0; i-- {
		if isDigit(s[i]) {
			n--
			out[n] = s[i]
		}
	}
	return string(out)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isWordByte reports whether c makes a digit part of a longer word (a letter, a digit, an
// underscore, or a byte of a multi-byte character).
func isWordByte(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}
