package safexml

import "testing"

func BenchmarkScanText(b *testing.B) {
	s := benchPayload(1 << 20)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if textSafeRun(s) != len(s) {
			b.Fatal("short")
		}
	}
}

func BenchmarkScanParse(b *testing.B) {
	s := benchPayload(1<<20) + "<"
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if plainRun(s, 0) != len(s)-1 {
			b.Fatal("short")
		}
	}
}

func BenchmarkScanTable(b *testing.B) {
	s := benchPayload(1 << 20)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		i := 0
		for i < len(s) && textSafe[s[i]] {
			i++
		}
		if i != len(s) {
			b.Fatal("short")
		}
	}
}

func BenchmarkScanMemmove(b *testing.B) {
	s := benchPayload(1 << 20)
	d := make([]byte, len(s))
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		copy(d, s)
	}
}
