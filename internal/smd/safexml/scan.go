package safexml

// SWAR (8 bytes per step) scanning for the long runs of plain ASCII text
// that dominate SMD payloads (base64 in msg:data). Each scanner returns the
// length of the longest prefix that needs no attention; words containing a
// candidate byte are finished byte by byte with the lookup table.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// hasZero is non-zero iff some byte of x is zero.
func hasZero(x uint64) uint64 { return (x - lsb) & ^x & msb }

// lowOrHigh is non-zero iff some byte of x is < 0x20 or >= 0x80.
func lowOrHigh(x uint64) uint64 { return x&msb | (x-lsb*0x20)&^x&msb }

// textCandidates flags bytes a c14n text node may need to escape or check
// ('<' 0x3C and '>' 0x3E differ only in bit 1, so one test covers both).
func textCandidates(x uint64) uint64 {
	return lowOrHigh(x) | hasZero(x^(lsb*'&')) | hasZero((x^(lsb*'<'))&^(lsb*2))
}

// parseCandidates flags bytes the parser must look at in character data.
func parseCandidates(x uint64) uint64 {
	return lowOrHigh(x) | hasZero(x^(lsb*'&')) | hasZero(x^(lsb*'<')) | hasZero(x^(lsb*']'))
}

// textSafeRun returns how many leading bytes of s c14n copies verbatim.
func textSafeRun(s string) int {
	i := 0
	for {
		for i+32 <= len(s) && textCandidates(load64(s, i))|textCandidates(load64(s, i+8))|
			textCandidates(load64(s, i+16))|textCandidates(load64(s, i+24)) == 0 {
			i += 32
		}
		for i+8 <= len(s) && textCandidates(load64(s, i)) == 0 {
			i += 8
		}
		for end := min(i+8, len(s)); i < end; i++ {
			if !textSafe[s[i]] {
				return i
			}
		}
		if i == len(s) {
			return i
		}
	}
}

// plainRun returns how many bytes of b from i on are plain character data.
func plainRun(b string, i int) int {
	start := i
	for {
		for i+32 <= len(b) && parseCandidates(load64(b, i))|parseCandidates(load64(b, i+8))|
			parseCandidates(load64(b, i+16))|parseCandidates(load64(b, i+24)) == 0 {
			i += 32
		}
		for i+8 <= len(b) && parseCandidates(load64(b, i)) == 0 {
			i += 8
		}
		for end := min(i+8, len(b)); i < end; i++ {
			if !textPlain[b[i]] {
				return i - start
			}
		}
		if i == len(b) {
			return i - start
		}
	}
}
