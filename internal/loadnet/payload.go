package loadnet

import (
	"fmt"
	"strings"
)

// filler is NTE text: no HL7 delimiters, clearly not clinical.
const filler = "Load test filler, not a real referral. "

// Referral returns an HL7 v2 REF^I12 referral with message control ID id
// and a TEST patient, padded with NTE segments to size bytes (or left at
// its header's size, about 250 bytes, when size is smaller).
func Referral(id string, size int) []byte {
	var b strings.Builder
	b.Grow(size)
	fmt.Fprintf(&b, "MSH|^~\\&|LOADNET|SENDER^LOADNET|RECEIVER|RECEIVER^LOADNET|20261124120000+1000||REF^I12^REF_I12|%s|P|2.4\r", id)
	fmt.Fprintf(&b, "RF1|P^Pending^HL70283|||RF^Referral^HL70336||%s\r", id)
	b.WriteString("PID|1||LOADNET-TEST^^^LOADNET^MR||TEST^LOADNET^PATIENT||19700101|U\r")
	for n := 1; ; n++ {
		prefix := fmt.Sprintf("NTE|%d||", n)
		room := size - b.Len() - len(prefix) - 1 // the segment's CR
		if room < 1 {
			break
		}
		if room > 1000+40 { // a later segment still has room to finish exactly
			room = 1000
		}
		b.WriteString(prefix)
		for room > 0 {
			k := min(room, len(filler))
			b.WriteString(filler[:k])
			room -= k
		}
		b.WriteByte('\r')
	}
	return []byte(b.String())
}
